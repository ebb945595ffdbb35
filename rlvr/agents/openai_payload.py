"""Reading an OpenAI-compatible server's JSON answers while trusting nothing in them.

`load_json` turns every way a body can fail to parse (invalid UTF or JSON, nesting deep enough to
hit the recursion limit, integers longer than Python converts) into `PayloadError`. `read_completion`
checks the fields the client uses and nothing else: `choices` (a non-empty list of objects, each
with a string `message.content` (null reads as "") or `text`), each choice's optional `index`
(distinct non-negative integers, used for order), `finish_reason` (a string or null) and
`usage.prompt_tokens` / `usage.completion_tokens` (non-negative integers or absent). Anything else
in a choice, `logprobs` included, is not read, so its shape cannot matter. `error_message` picks
the server's own words out of an error body of any shape.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_TOKEN_COUNT = 2**53
"""The largest usage count accepted: any real count is far below, and stats stay exact as floats too."""
MAX_FINISH_REASON = 64
"""Longer finish reasons are cut to this many characters before they become keys of `stats`."""


class PayloadError(ValueError):
    """A response body that is not what the API promises; the message says what was expected."""


@dataclass
class Completion:
    """The parts of a completion response the client uses, in the choices' index order."""

    texts: list[str]
    finish_reasons: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0


def load_json(raw: bytes) -> Any:
    """`json.loads(raw)`, every failure a `PayloadError` (NaN and Infinity are accepted, as Python does)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise PayloadError("is not JSON (nested deeper than the parser's recursion limit)") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, and integers over the digit limit
        if "integer string conversion" in str(error):
            limit = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
            raise PayloadError(f"is not JSON we read (an integer with more than {limit} digits)") from None
        raise PayloadError(f"is not JSON ({error})") from None


def read_completion(payload: Any, chat: bool) -> Completion:
    """The texts, finish reasons and token counts of a parsed response; `PayloadError` if malformed."""
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not isinstance(choices, list) or not choices or not all(isinstance(c, dict) for c in choices):
        raise PayloadError("has no 'choices' list of objects")
    choices = _in_index_order(choices)
    completion = Completion([_choice_text(choice, chat) for choice in choices])
    for choice in choices:
        reason = choice.get("finish_reason")
        if reason is not None and not isinstance(reason, str):
            raise PayloadError(f"expected each 'finish_reason' to be a string or null, got {short(reason)}")
        completion.finish_reasons.append(str(reason)[:MAX_FINISH_REASON])
    usage = payload.get("usage")
    if usage is not None and not isinstance(usage, dict):
        raise PayloadError(f"expected 'usage' to be an object or null, got {short(usage)}")
    for name in ("prompt_tokens", "completion_tokens"):
        count = (usage or {}).get(name)
        if count is None:
            continue
        if type(count) is not int or not 0 <= count <= MAX_TOKEN_COUNT:
            raise PayloadError(
                f"expected 'usage.{name}' to be an integer from 0 to {MAX_TOKEN_COUNT} or absent, "
                f"got {short(count)}"
            )
        setattr(completion, name, count)
    return completion


def _in_index_order(choices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Choices sorted by their `index` when they carry one (servers may answer out of order)."""
    indexes = [choice.get("index") for choice in choices]
    if all(index is None for index in indexes):
        return choices
    # bool is an int subclass; a repeated or missing index would make the order a guess.
    if not all(type(i) is int and i >= 0 for i in indexes) or len(set(indexes)) != len(indexes):
        raise PayloadError(
            f"expected every choice to have a distinct non-negative integer 'index' (or none to have one), "
            f"got {short(indexes)}"
        )
    return [choices[position] for position in sorted(range(len(choices)), key=indexes.__getitem__)]


def _choice_text(choice: Mapping[str, Any], chat: bool) -> str:
    if chat:
        message = choice.get("message")
        if not isinstance(message, dict) or "content" not in message:
            raise PayloadError(f"has a choice with no message content: {short(choice)}")
        # null content (e.g. a reasoning model cut off by max_tokens) is an empty answer, scored as such
        text = message["content"] if message["content"] is not None else ""
        if not isinstance(text, str):
            raise PayloadError(f"expected a message's content to be a string or null, got {short(text)}")
        return text
    text = choice.get("text")
    if not isinstance(text, str):
        raise PayloadError(f"has a choice with no text: {short(choice)}")
    return text


def error_message(raw: bytes) -> str:
    """The server's own words: OpenAI's {"error": {"message"}}, FastAPI's {"detail"}, or the text."""
    try:
        payload = load_json(raw)
    except PayloadError:
        return raw.decode("utf-8", "replace").strip()[:500] or "(empty body)"
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and error.get("message"):
            return short(error["message"], 500)
        for value in (error, payload.get("message"), payload.get("detail")):
            if value:
                return short(value, 500)
    return short(payload, 500)


def short(value: Any, limit: int = 200) -> str:
    """`value` as text (a string as is, else its repr), cut to `limit` characters; never raises."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except (RecursionError, ValueError):  # nesting near the limit; ints past the digit limit
        text = f"<a {type(value).__name__} too deep or too long to show>"
    return text[:limit] + ("..." if len(text) > limit else "")
