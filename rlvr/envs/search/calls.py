"""Reading one tool call out of an action, in either accepted syntax.

Tag syntax (Search-R1 style; free text around the tags is allowed):
    <search>query</search>                 search with the env's default k
    <open>doc_3</open>                     read a whole document
    <answer>text</answer> <cite>doc_3, doc_7</cite>   final answer; citations comma-separated
JSON syntax, shaped like an OpenAI function call, as the whole action or inside
<tool_call>...</tool_call>; "arguments" may be an object or a JSON string holding one:
    {"name": "search", "arguments": {"query": "...", "k": 3}}
    {"name": "open", "arguments": {"doc_id": "doc_3"}}
    {"name": "answer", "arguments": {"text": "...", "citations": ["doc_3"]}}

Exactly one call per action. `parse_call` returns a `ToolCall` or a string saying what was wrong.

>>> parse_call("<think>hm</think><search>Kobo mayor</search>")
ToolCall(name='search', arguments={'query': 'Kobo mayor'}, syntax='tags')
>>> parse_call('{"name": "open", "arguments": {"doc_id": "doc_1"}}').arguments
{'doc_id': 'doc_1'}
>>> parse_call("<answer>Vetia</answer><cite>doc_1, doc_4</cite>").arguments
{'text': 'Vetia', 'citations': ['doc_1', 'doc_4']}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_ACTION_CHARS = 20_000
TOOLS = ("search", "open", "answer")
_TAG = re.compile(r"<(search|open|answer)>(.*?)</\1>", re.IGNORECASE | re.DOTALL)
_OPEN_TAG = re.compile(r"<(search|open|answer)>", re.IGNORECASE)
_CITE = re.compile(r"<cite>(.*?)</cite>", re.IGNORECASE | re.DOTALL)
_TOOL_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.IGNORECASE | re.DOTALL)
_ARGUMENT_TYPES = {"search": {"query": str, "k": int}, "open": {"doc_id": str},
                   "answer": {"text": str, "citations": list}}
_REQUIRED = {"search": ("query",), "open": ("doc_id",), "answer": ("text",)}


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    syntax: str = "tags"
    """'tags' or 'json': observations answer in the syntax of the call."""


def split_citations(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\s]+", text) if part.strip()]


def parse_call(action: Any) -> ToolCall | str:
    if not isinstance(action, str):
        return f"expected the action as a string, got {type(action).__name__}"
    if len(action) > MAX_ACTION_CHARS:
        return f"expected at most {MAX_ACTION_CHARS} characters in one action, got {len(action)}"
    stripped = action.strip()
    wrapped = _TOOL_CALL.findall(stripped)
    if len(wrapped) > 1:
        return f"expected one tool call per turn, got {len(wrapped)} <tool_call> blocks"
    if wrapped or stripped.startswith("{"):
        return _parse_json(wrapped[0] if wrapped else stripped)
    return _parse_tags(stripped)


def _parse_tags(text: str) -> ToolCall | str:
    calls = _TAG.findall(text)
    if not calls:
        if _OPEN_TAG.search(text):
            return "a <search>, <open> or <answer> tag is not closed"
        return ("expected one tool call: <search>query</search>, <open>doc_id</open>, "
                "<answer>text</answer> (with <cite>ids</cite>), or a JSON function call")
    if len(calls) > 1:
        return f"expected one tool call per turn, got {len(calls)}: {', '.join(n.lower() for n, _ in calls)}"
    name, body = calls[0][0].lower(), calls[0][1].strip()
    if name == "search":
        return ToolCall("search", {"query": body}) if body else "the <search> query is empty"
    if name == "open":
        return ToolCall("open", {"doc_id": body}) if body else "the <open> document id is empty"
    cites = _CITE.findall(text)
    if len(cites) > 1:
        return f"expected at most one <cite> block, got {len(cites)}"
    return ToolCall("answer", {"text": body, "citations": split_citations(cites[0]) if cites else []})


def _parse_json(text: str) -> ToolCall | str:
    text = text.strip()
    try:
        call = json.loads(text)
    except (ValueError, RecursionError) as exc:  # ValueError: bad JSON, or an integer too long to read
        return f"expected a JSON object {{'name': ..., 'arguments': {{...}}}}, got invalid JSON ({str(exc)[:200]})"
    if not isinstance(call, dict):
        return f"expected a JSON object with 'name' and 'arguments', got {type(call).__name__}"
    name, arguments = call.get("name"), call.get("arguments", {})
    if name not in TOOLS:
        return f"expected 'name' to be one of {list(TOOLS)}, got {str(name)[:40]!r}"
    if isinstance(arguments, str):  # OpenAI sends the arguments as a JSON string
        try:
            arguments = json.loads(arguments)
        except (ValueError, RecursionError):
            return "'arguments' is a string but not a JSON object"
    if not isinstance(arguments, dict):
        return f"expected 'arguments' to be an object, got {type(arguments).__name__}"
    types = _ARGUMENT_TYPES[name]
    unknown = sorted(set(arguments) - set(types))
    if unknown:
        return f"{name} takes {sorted(types)}, got unknown arguments {unknown}"
    for key, expected in types.items():
        if key in arguments and (not isinstance(arguments[key], expected) or isinstance(arguments[key], bool)):
            return f"{name}: argument {key!r} must be {expected.__name__}, got {type(arguments[key]).__name__}"
    missing = [key for key in _REQUIRED[name] if not str(arguments.get(key, "")).strip()]
    if missing:
        return f"{name} needs a non-empty {missing[0]!r}"
    arguments = dict(arguments)
    if name == "answer":
        citations = arguments.get("citations", [])
        if not all(isinstance(c, str) for c in citations):
            return "answer: 'citations' must be a list of document id strings"
        arguments["citations"] = [c.strip() for c in citations if c.strip()]
    return ToolCall(name, arguments, "json")
