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
- Connection errors, timeouts, malformed HTTP, HTTP 429 and 5xx are retried with exponential backoff
  and seeded jitter, honouring a `Retry-After` header up to `max_retry_after_s`. Any other 4xx, a
  malformed or oversize response, or running out of retries raises `OpenAICompatibleError`.
- Time: `timeout_s` is one deadline for a whole request (connect, TLS, sending, status line,
  headers and the complete body): a server dripping bytes fails at `timeout_s` like a silent one,
  and counts as a timeout for the retries. One request with all its retries therefore takes at most
  `(max_retries + 1) * timeout_s + max_retries * max(max_backoff_s, max_retry_after_s)` seconds
  (name resolution aside: the system resolver applies its own limits).
- Redirects are never followed: a 3xx raises `OpenAICompatibleError` naming the status and the
  origin it points to, without a retry, so the key never goes anywhere but `base_url`'s origin.
  Point `base_url` at the final address instead.
- `api_key` defaults to $RLVR_OPENAI_API_KEY, then $OPENAI_API_KEY; with neither (or `api_key=""`)
  no Authorization header is sent. The key never appears in `repr`, `stats` or an error message:
  anything a server sends back (error bodies, quoted responses, status lines, Locations) is
  scrubbed of the key, and of any 12 characters of it even split by whitespace, before it is
  quoted. Completion texts are returned as the server sent them.
- Every malformed answer (invalid JSON, nesting past the recursion limit, integers past Python's
  digit limit, wrong types; see `rlvr.agents.openai_payload`) raises `OpenAICompatibleError`, never
  another exception. Responses are read up to `max_response_bytes`.
- `stats` counts HTTP requests, retries, choices, finish reasons and the `usage` token counts.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rlvr.agents import http_client
from rlvr.agents.openai_payload import PayloadError, error_message, load_json, read_completion

API_KEY_ENV_VARS = ("RLVR_OPENAI_API_KEY", "OPENAI_API_KEY")
ENDPOINT_PATHS = {"chat": "/chat/completions", "completions": "/completions"}
MAX_RESPONSE_BYTES = 8 << 20
_ERROR_BODY_BYTES = 64 << 10
"""How much of an error response is read for its message: enough for any JSON error object."""
_QUOTE_CHARS = 200
"""How much of a malformed response an error message quotes."""


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
    `top_k`, or `chat_template_kwargs`). `timeout_s` is one deadline for a whole request, body
    included; the module docstring gives the bound for a request with its retries.
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
        if concurrency < 1 or max_retries < 0 or max_response_bytes < 1:
            raise ValueError(
                "expected concurrency >= 1, max_retries >= 0 and max_response_bytes >= 1, got "
                f"{concurrency}, {max_retries} and {max_response_bytes}"
            )
        waits = {"backoff_s": backoff_s, "max_backoff_s": max_backoff_s, "max_retry_after_s": max_retry_after_s}
        for name, value in {"timeout_s": timeout_s, **waits}.items():
            # NaN passes every comparison and inf never ends: either would void the time bound.
            finite = isinstance(value, int | float) and math.isfinite(value)
            if not finite or value < 0 or (name == "timeout_s" and value == 0):
                bound = "> 0" if name == "timeout_s" else ">= 0"
                raise ValueError(f"expected {name} to be a finite number of seconds {bound}, got {value!r}")
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
        # A Secret: its repr hides the key (evaluation logs print agents), and it scrubs messages.
        self._secret = http_client.Secret(_resolve_api_key(api_key))
        self._opener = http_client.build_opener(https=self.url.startswith("https:"))
        self._jitter = random.Random(jitter_seed)
        self._lock = threading.Lock()
        self.stats: dict[str, Any] = {}
        self.reset_stats()

    def __repr__(self) -> str:
        auth = "set" if self._secret else "none"
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
                last = error
            if attempt < self.max_retries:
                self._count("retries")
                time.sleep(self._delay(attempt, last.retry_after))
        # Raised outside the except block: no chained exception carries unscrubbed server text.
        attempts = self.max_retries + 1
        raise self._error(f"POST {self.url} failed after {attempts} attempts; last error: {last}", last.status)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        with self._lock:
            jitter = self._jitter.random()
        # Half fixed, half random: spreads out the retries of a whole batch hitting a busy server.
        return min(self.max_backoff_s, self.backoff_s * 2**attempt) * (0.5 + 0.5 * jitter)

    def _post(self, data: bytes) -> bytes:
        """The body of a 2xx answer; raises `_Retryable` or `OpenAICompatibleError` otherwise."""
        try:
            # The headers are built in the call, not kept in a local: tracebacks that show locals
            # (pytest --showlocals, error trackers) then have no frame holding the key.
            reply = http_client.post(
                self._opener,
                self.url,
                data,
                {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "rlvr",
                 **self._secret.headers()},
                timeout_s=self.timeout_s,
                max_bytes=self.max_response_bytes,
                max_error_bytes=_ERROR_BODY_BYTES,
            )
        except http_client.TransportError as error:
            timed_out = f"timed out (no whole answer within timeout_s={self.timeout_s:g} s)"
            failure: Exception = _Retryable(timed_out if error.timed_out else str(error))
        except http_client.ResponseTooLarge as error:
            limit = self.max_response_bytes
            failure = self._error(f"response from {self.url} {error}, over the limit of {limit} bytes")
        else:
            if 200 <= reply.status < 300:
                return reply.body
            failure = self._status_failure(reply)
        raise failure

    def _status_failure(self, reply: http_client.Reply) -> Exception:
        status = reply.status
        if 300 <= status < 400:
            target = http_client.origin(self.url, reply.headers.get("Location"))
            return self._error(
                f"POST {self.url} answered HTTP {status}, a redirect to {target}; redirects are not followed "
                "(the API key goes only to base_url's origin): set base_url to the final address",
                status,
            )
        message = self._secret.redact(error_message(reply.body)) if reply.body else "(empty body)"
        if reply.body_error:
            message += f" (body not read in full: {reply.body_error})"
        if status == 429 or status >= 500:
            wait = http_client.retry_after_s(reply.headers.get("Retry-After"))
            return _Retryable(f"HTTP {status}: {message}", status, wait)
        return self._error(f"POST {self.url} returned HTTP {status}: {message}", status)

    def _parse(self, raw: bytes) -> list[str]:
        try:
            completion = read_completion(load_json(raw), chat=self.endpoint == "chat")
        except PayloadError as error:
            failure = self._error(f"response from {self.url} {error}; it starts {self._quote(raw)}")
        except Exception as error:  # noqa: BLE001  (a safety net: a hostile body must not crash a run)
            failure = self._error(f"response from {self.url} could not be read: {type(error).__name__}: {error}")
        else:
            with self._lock:
                self.stats["choices"] += len(completion.texts)
                self.stats["prompt_tokens"] += completion.prompt_tokens
                self.stats["completion_tokens"] += completion.completion_tokens
                for reason in completion.finish_reasons:
                    self.stats["finish_reasons"][reason] = self.stats["finish_reasons"].get(reason, 0) + 1
            return completion.texts
        raise failure

    def _error(self, message: str, status: int | None = None) -> OpenAICompatibleError:
        """The agent's error, scrubbed of the key: every message that leaves the agent comes through here."""
        return OpenAICompatibleError(self._secret.redact(message), status)

    def _quote(self, raw: bytes) -> str:
        """The start of a response, scrubbed before it is cut (so a key across the cut goes whole)."""
        text = raw[: 4 * _QUOTE_CHARS].decode("utf-8", "replace")
        return repr(self._secret.redact(text)[:_QUOTE_CHARS])

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

