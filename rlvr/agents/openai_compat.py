"""`OpenAICompatibleAgent`: evaluate any server that speaks the OpenAI HTTP API on rlvr envs.

vLLM (`vllm serve`), SGLang, llama.cpp's server, the OpenAI API and most gateways accept the same
`/v1/chat/completions` and `/v1/completions` requests, so one small client covers them all. It
uses only the standard library (urllib + json): evaluating a served model needs no extra install.

Usage (start a server first, e.g. `vllm serve Qwen/Qwen2.5-0.5B-Instruct --port 8000`):

    import gymnasium as gym
    import rlvr
    from rlvr.agents.openai_compat import OpenAICompatibleAgent
    from rlvr.agents.rollout import play_episode

    agent = OpenAICompatibleAgent("http://localhost:8000/v1", "Qwen/Qwen2.5-0.5B-Instruct",
                                  temperature=0.0, max_tokens=512, concurrency=16)
    episode = play_episode(gym.make("rlvr/RandomCalc-v0", num_ops=2), agent, seed=0)
    print(episode.total_reward, agent.stats["completion_tokens"])
    samples = agent.complete(["What is 2 + 3? Answer in \\\\boxed{}."], n=8)  # pass@k: 8 per prompt

How it behaves:
- `act(observations, infos)` (the `Agent` protocol): with `endpoint="chat"` it sends each env's
  `info["messages"]` (rlvr text envs put the templated chat messages there), else the observation
  as one user message; with `endpoint="completions"` it sends the observation text as the prompt.
- A batch's requests run concurrently in a pool of `concurrency` threads; results keep input order.
- Connection errors, timeouts, HTTP 429 and 5xx are retried with exponential backoff and seeded
  jitter, honouring a `Retry-After` header up to `max_retry_after_s`. Any other 4xx, a malformed
  or oversize response, or running out of retries raises `OpenAICompatibleError`.
- `api_key` defaults to $RLVR_OPENAI_API_KEY, then $OPENAI_API_KEY; with neither (or `api_key=""`)
  no Authorization header is sent. The key never appears in `repr`, errors or `stats`.
- `stats` counts HTTP requests, retries, choices, finish reasons and the `usage` token counts.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPException
from typing import Any

API_KEY_ENV_VARS = ("RLVR_OPENAI_API_KEY", "OPENAI_API_KEY")
ENDPOINT_PATHS = {"chat": "/chat/completions", "completions": "/completions"}
MAX_RESPONSE_BYTES = 8 << 20
_ERROR_BODY_BYTES = 64 << 10
"""How much of an error response is read for its message: enough for any JSON error object."""
_READ_CHUNK = 64 << 10


class OpenAICompatibleError(RuntimeError):
    """A request failed for good: `status` is the HTTP status (None for transport or shape errors)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _Retryable(Exception):
    """A failure worth another try; `retry_after` is the server's requested wait in seconds."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


Prompt = str | Sequence[Mapping[str, Any]]
"""Prompt text, or (chat endpoint only) a list of chat messages."""


class OpenAICompatibleAgent:
    """Sends rlvr observations to an OpenAI-compatible server; see the module docstring.

    Sampling fields left as None are omitted from requests, so the server's defaults apply.
    `extra_body` is merged into every request last (server-specific fields such as vLLM's
    `top_k`, or `chat_template_kwargs`). `timeout_s` bounds each wait on the socket and the reading of a whole response.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        endpoint: str = "chat",
        temperature: float | None = 0.0,
        top_p: float | None = None,
        max_tokens: int | None = 1024,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 4,
        concurrency: int = 8,
        extra_body: Mapping[str, Any] | None = None,
        *,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        max_retry_after_s: float = 60.0,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        jitter_seed: int = 0,
    ) -> None:
        if endpoint not in ENDPOINT_PATHS:
            raise ValueError(f"endpoint must be one of {sorted(ENDPOINT_PATHS)}, got {endpoint!r}")
        if concurrency < 1 or max_retries < 0 or timeout_s <= 0 or max_response_bytes < 1:
            raise ValueError(
                "expected concurrency >= 1, max_retries >= 0, timeout_s > 0 and max_response_bytes >= 1, got "
                f"{concurrency}, {max_retries}, {timeout_s} and {max_response_bytes}"
            )
        self.base_url = _normalise_base_url(base_url)
        self.url = self.base_url + ENDPOINT_PATHS[endpoint]
        self.model, self.endpoint = model, endpoint
        self.sampling: dict[str, Any] = {
            "temperature": temperature,
            "top_p": top_p,
            "max_tokens": max_tokens,
            "stop": stop if stop is None or isinstance(stop, str) else list(stop),
            "seed": seed,
        }
        self.extra_body = dict(extra_body or {})
        self.timeout_s, self.max_retries, self.concurrency = float(timeout_s), int(max_retries), int(concurrency)
        self.backoff_s, self.max_backoff_s, self.max_retry_after_s = backoff_s, max_backoff_s, max_retry_after_s
        self.max_response_bytes = int(max_response_bytes)
        # Kept private and out of repr: evaluation logs print agents.
        self._api_key = _resolve_api_key(api_key)
        self._jitter = random.Random(jitter_seed)
        self._lock = threading.Lock()
        self.stats: dict[str, Any] = {}
        self.reset_stats()

    def __repr__(self) -> str:
        auth = "set" if self._api_key else "none"
        return f"{type(self).__name__}(url={self.url!r}, model={self.model!r}, api_key={auth})"

    def reset_stats(self) -> None:
        """Zero the counters (e.g. between evaluation runs)."""
        with self._lock:
            self.stats = {
                "requests": 0,
                "retries": 0,
                "choices": 0,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "finish_reasons": {},
            }

    # ---- the Agent protocol and pass@k sampling ----

    def act(self, observations: Sequence[Any], infos: Sequence[Mapping[str, Any]] | None = None) -> list[str]:
        """One response per observation (the first choice), in input order."""
        infos = list(infos) if infos is not None else [{} for _ in observations]
        if len(infos) != len(observations):
            raise ValueError(f"expected one info per observation, got {len(observations)} and {len(infos)}")
        prompts = [self._prompt_of(obs, info) for obs, info in zip(observations, infos, strict=True)]
        return [samples[0] for samples in self.complete(prompts, n=1)]

    def complete(self, prompts: Sequence[Prompt], n: int = 1) -> list[list[str]]:
        """`n` samples for each prompt (texts, or message lists for the chat endpoint), in input order.

        Each prompt is first sent with the API's `n` field. Servers that return fewer choices
        (some ignore `n` or cap it) get follow-up requests for the rest, as many per prompt as
        the smallest answer seen suggests, each with a shifted `seed` (when one is set) so the
        extra samples differ.
        """
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        bodies = [self._body(prompt) for prompt in prompts]
        samples: list[list[str]] = [[] for _ in bodies]
        per_request = [n] * len(bodies)  # the most choices one request is trusted to return
        sent = [0] * len(bodies)
        while True:
            jobs = []
            for i, body in enumerate(bodies):
                missing = n - len(samples[i])
                while missing > 0:
                    count = min(missing, per_request[i])
                    jobs.append((i, self._with_n(body, count, offset=sent[i])))
                    sent[i] += 1
                    missing -= count
            if not jobs:
                return samples
            for (i, _), texts in zip(jobs, self._map([body for _, body in jobs]), strict=True):
                per_request[i] = min(per_request[i], len(texts))
                samples[i].extend(texts[: n - len(samples[i])])

    # ---- request building ----

    def _prompt_of(self, observation: Any, info: Mapping[str, Any] | None) -> Prompt:
        messages = (info or {}).get("messages") if self.endpoint == "chat" else None
        if messages:
            return messages
        if not isinstance(observation, str):
            raise TypeError(
                f"{type(self).__name__} needs text observations (or info['messages']), got "
                f"{type(observation).__name__}"
            )
        return observation

    def _body(self, prompt: Prompt) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model}
        if self.endpoint == "chat":
            body["messages"] = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else _messages(prompt)
        elif isinstance(prompt, str):
            body["prompt"] = prompt
        else:
            raise TypeError(f"the completions endpoint takes prompt text, got {type(prompt).__name__}")
        body.update({k: v for k, v in self.sampling.items() if v is not None})
        body.update(self.extra_body)
        return body

    @staticmethod
    def _with_n(body: dict[str, Any], count: int, offset: int) -> dict[str, Any]:
        """The body asking for `count` choices; follow-up requests shift the seed to get new samples."""
        request = {**body, "n": count}
        if offset and isinstance(body.get("seed"), int):
            request["seed"] = body["seed"] + offset
        return request

    # ---- transport: concurrency, retries, response checks ----

    def _map(self, bodies: list[dict[str, Any]]) -> list[list[str]]:
        if len(bodies) == 1 or self.concurrency == 1:
            return [self._request(body) for body in bodies]
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(bodies)), thread_name_prefix="rlvr-openai")
        try:
            futures = [pool.submit(self._request, body) for body in bodies]
            return [future.result() for future in futures]
        finally:
            # On a failure, queued requests are dropped instead of sent for nothing.
            pool.shutdown(wait=True, cancel_futures=True)

    def _request(self, body: dict[str, Any]) -> list[str]:
        """POST one body with retries; return the choices' texts in index order."""
        data = json.dumps(body).encode()
        for attempt in range(self.max_retries + 1):
            self._count("requests")
            try:
                return self._parse(self._post(data))
            except _Retryable as error:
                if attempt == self.max_retries:
                    raise OpenAICompatibleError(
                        f"POST {self.url} failed after {attempt + 1} attempts; last error: {error}", error.status
                    ) from None
                self._count("retries")
                time.sleep(self._delay(attempt, error.retry_after))
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        with self._lock:
            jitter = self._jitter.random()
        # Half fixed, half random: spreads out the retries of a whole batch hitting a busy server.
        return min(self.max_backoff_s, self.backoff_s * 2**attempt) * (0.5 + 0.5 * jitter)

    def _post(self, data: bytes) -> bytes:
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "rlvr"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        deadline = time.monotonic() + self.timeout_s
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return self._read_bounded(response, deadline)
        except urllib.error.HTTPError as error:
            try:
                status, message = error.code, _error_message(error.read(_ERROR_BODY_BYTES))
                retry_after = _parse_retry_after(error.headers.get("Retry-After"))
            finally:
                error.close()
            if status == 429 or status >= 500:
                raise _Retryable(f"HTTP {status}: {message}", status, retry_after) from None
            raise OpenAICompatibleError(f"POST {self.url} returned HTTP {status}: {message}", status) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, HTTPException, OSError) as error:
            reason = getattr(error, "reason", None) or error
            raise _Retryable(f"{type(reason).__name__}: {reason}") from None

    def _read_bounded(self, response: Any, deadline: float) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_response_bytes:
            raise OpenAICompatibleError(
                f"response from {self.url} declares {declared} bytes, over the limit of {self.max_response_bytes}"
            )
        chunks, size = [], 0
        while chunk := response.read(_READ_CHUNK):
            size += len(chunk)
            if size > self.max_response_bytes:
                raise OpenAICompatibleError(
                    f"response from {self.url} is over the limit of {self.max_response_bytes} bytes"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"response not read within {self.timeout_s} s")
            chunks.append(chunk)
        return b"".join(chunks)

    def _parse(self, raw: bytes) -> list[str]:
        try:
            payload = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise OpenAICompatibleError(
                f"response from {self.url} is not JSON ({error}); it starts {raw[:200]!r}"
            ) from None
        choices = payload.get("choices") if isinstance(payload, dict) else None
        if not isinstance(choices, list) or not choices or not all(isinstance(c, dict) for c in choices):
            raise OpenAICompatibleError(
                f"response from {self.url} has no 'choices' list of objects; it starts {raw[:200]!r}"
            )
        choices = sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c.get("index"), int) else 0)
        texts = [self._choice_text(choice) for choice in choices]
        usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
        with self._lock:
            self.stats["choices"] += len(texts)
            for key in ("prompt_tokens", "completion_tokens"):
                if isinstance(usage.get(key), int):
                    self.stats[key] += usage[key]
            for choice in choices:
                reason = str(choice.get("finish_reason"))
                self.stats["finish_reasons"][reason] = self.stats["finish_reasons"].get(reason, 0) + 1
        return texts

    def _choice_text(self, choice: Mapping[str, Any]) -> str:
        if self.endpoint == "chat":
            message = choice.get("message")
            if not isinstance(message, dict) or "content" not in message:
                raise OpenAICompatibleError(f"a choice from {self.url} has no message content: {choice!r:.200}")
            # null content (e.g. a reasoning model cut off by max_tokens) is an empty answer, scored as such
            text = message["content"] if message["content"] is not None else ""
        else:
            text = choice.get("text")
        if not isinstance(text, str):
            raise OpenAICompatibleError(f"a choice from {self.url} has no text: {choice!r:.200}")
        return text

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1


def _resolve_api_key(api_key: str | None) -> str | None:
    if api_key is not None:
        return api_key or None
    for name in API_KEY_ENV_VARS:
        if os.environ.get(name):
            return os.environ[name]
    return None


def _normalise_base_url(base_url: str) -> str:
    """'http://host:8000' -> 'http://host:8000/v1'; a URL with a path is kept as given."""
    parts = urllib.parse.urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must be an http(s) URL such as 'http://localhost:8000/v1', got {base_url!r}")
    path = parts.path.rstrip("/") or "/v1"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for message in messages:
        if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
            raise TypeError(f"chat messages need 'role' and 'content', got {message!r:.200}")
        out.append(dict(message))
    return out


def _error_message(raw: bytes) -> str:
    """The server's own words: OpenAI's {"error": {"message"}}, FastAPI's {"detail"}, or the text."""
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return raw.decode("utf-8", "replace").strip()[:500] or "(empty body)"
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:500]
        for value in (error, payload.get("message"), payload.get("detail")):
            if value:
                return str(value)[:500]
    return str(payload)[:500]


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
