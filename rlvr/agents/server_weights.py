"""Pushing a learner's weights into a running inference server: write them where it loads from, ask it to reload.

What servers offer (vLLM's server in late 2026, SGLang), and what `ServerPolicy` uses:

1. **Reload from disk** (implemented, `weight_sync='vllm'`). Start the server on a folder it
   shares with the trainer, with its development routes on:
   `VLLM_SERVER_DEV_MODE=1 vllm serve /shared/policy --served-model-name policy`. Each sync writes
   the learner's weights into that folder as safetensors, then calls
   `POST /collective_rpc {"method": "reload_weights"}` (each worker reloads the served folder in
   place) and `POST /reset_prefix_cache` (cached KV of the old weights must not be reused). It works
   wherever the two share a filesystem, on any hardware, and is what the tests exercise on CPU;
   it costs one write and one read of the weights per sync.
2. **SGLang** (implemented, `weight_sync='sglang'`): the same files, then
   `POST /update_weights_from_disk {"model_path": folder}` (which also flushes its cache).
3. **vLLM's weight-transfer engine** (not implemented): `--weight-transfer-config '{"backend":
   "nccl"}'` and `/init_weight_transfer_engine`, `/start_weight_update`, `/update_weights`,
   `/finish_weight_update`, broadcasting GPU to GPU over NCCL (or CUDA IPC when co-located). No
   disk round trip, but the learner must join an NCCL group with the server's workers, which needs
   GPUs on both sides; `VLLMPolicy` (an engine in the trainer's process) covers one machine.

Files are first written to a staging folder beside the served one and moved in with `os.replace`,
so a server (re)starting meanwhile never reads half a file; safetensors files left over from an
older layout are removed, so the folder holds exactly one set of weights.

A 404 or 405 from the reload route means the server has no such route (`WeightSyncUnsupported`);
any other failure is a `WeightSyncError`: a sync that fails mid-run stops the run, it never leaves
the server silently behind the learner.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rlvr.agents import http_client
from rlvr.agents.openai_payload import PayloadError, error_message, load_json

WEIGHT_SYNCS = ("vllm", "sglang", "none")
"""How weights reach the server: vLLM's reload route, SGLang's, or never (off-policy)."""
_ROUTES = {
    "vllm": (("/collective_rpc", {"method": "reload_weights"}), ("/reset_prefix_cache", None)),
    "sglang": (("/update_weights_from_disk", "model_path"),),
}
_ANSWER_BYTES = 1 << 20
"""Enough for any reload answer (vLLM's lists one result per worker)."""


class WeightSyncError(RuntimeError):
    """A push of the learner's weights into the server failed."""


class WeightSyncUnsupported(WeightSyncError):
    """The server has no route to reload weights (it answered 404 or 405)."""


def server_root(base_url: str) -> str:
    """The server's root URL from its OpenAI base URL: 'http://h:8000/v1' -> 'http://h:8000'.

    >>> server_root("http://localhost:8000/v1/"), server_root("https://h/api/v1")
    ('http://localhost:8000', 'https://h/api')
    """
    parts = urllib.parse.urlsplit(base_url.strip())
    path = parts.path.rstrip("/")
    path = path[: -len("/v1")] if path.endswith("/v1") else path
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def write_weights(model: Any, folder: Path) -> list[str]:
    """Write `model`'s weights into `folder` as safetensors (staged, then moved in); the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.rlvr-staging"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with _quiet_progress():  # a bar per sync would break the trainer's step lines
            model.save_pretrained(staging)  # safetensors, tied weights written once, shards with an index
        written = sorted(path.name for path in staging.iterdir()
                         if path.suffix == ".safetensors" or path.name.endswith(".safetensors.index.json"))
        if not any(name.endswith(".safetensors") for name in written):
            raise WeightSyncError(f"saving the learner wrote no .safetensors file in {staging}")
        for name in written:
            os.replace(staging / name, folder / name)
        for stale in folder.iterdir():
            # an older shard layout must not be loaded beside the new one
            if stale.name not in written and (stale.suffix == ".safetensors" or stale.name.endswith(".safetensors.index.json")):
                stale.unlink()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            hf_logging.enable_progress_bar()


class WeightPusher:
    """Writes a model's weights into `folder` and asks the server at `base_url` to reload them."""

    def __init__(self, base_url: str, weight_sync: str, folder: str | Path, api_key: str | None,
                 timeout_s: float) -> None:
        if weight_sync not in _ROUTES:
            raise ValueError(f"weight_sync must be one of {list(_ROUTES)} to push weights, got {weight_sync!r}")
        self.root, self.weight_sync = server_root(base_url), weight_sync
        self.folder, self.timeout_s = Path(folder).resolve(), float(timeout_s)
        self._secret = http_client.Secret(api_key)
        self._opener = http_client.build_opener(https=self.root.startswith("https:"))
        self.pushes, self.seconds = 0, 0.0

    def push(self, model: Any) -> None:
        """Write, then reload; `WeightSyncUnsupported` if the first route is missing, else `WeightSyncError`."""
        started = time.perf_counter()
        try:
            write_weights(model, self.folder)
        except OSError as error:
            raise WeightSyncError(f"could not write the learner's weights into {self.folder}: {error}") from None
        for index, (path, body) in enumerate(_ROUTES[self.weight_sync]):
            if body == "model_path":
                body = {"model_path": str(self.folder)}
            self._call(path, body, first=index == 0)
        self.pushes += 1
        self.seconds += time.perf_counter() - started

    def _call(self, path: str, body: dict[str, Any] | None, first: bool) -> None:
        url = self.root + path
        data = json.dumps(body if body is not None else {}).encode()
        try:
            # headers built in the call: no local holds the key (see OpenAICompatibleAgent._post)
            reply = http_client.post(self._opener, url, data,
                                     {"Content-Type": "application/json", "User-Agent": "rlvr", **self._secret.headers()},
                                     timeout_s=self.timeout_s, max_bytes=_ANSWER_BYTES, max_error_bytes=_ANSWER_BYTES)
        except http_client.TransportError as error:
            reason = f"no whole answer within {self.timeout_s:g} s" if error.timed_out else str(error)
            raise WeightSyncError(self._secret.redact(f"POST {url} failed: {reason}")) from None
        except http_client.ResponseTooLarge as error:
            raise WeightSyncError(f"POST {url}: the answer {error}, over {_ANSWER_BYTES} bytes") from None
        message = self._secret.redact(error_message(reply.body)) if reply.body else "(empty body)"
        if first and reply.status in (404, 405):
            raise WeightSyncUnsupported(f"POST {url} answered HTTP {reply.status} ({message}): the server has no "
                                        f"weight-reload route for weight_sync={self.weight_sync!r}")
        if 300 <= reply.status < 400:
            target = http_client.origin(url, reply.headers.get("Location"))
            raise WeightSyncError(f"POST {url} answered HTTP {reply.status}, a redirect to {target}; redirects are not "
                                  "followed (the API key goes only to the server's origin): use the final address")
        if not 200 <= reply.status < 300:
            raise WeightSyncError(f"POST {url} answered HTTP {reply.status}: {message}")
        if self.weight_sync == "sglang":
            try:
                answer = load_json(reply.body)
            except PayloadError:
                answer = None
            if not isinstance(answer, dict) or answer.get("success") is not True:
                raise WeightSyncError(f"POST {url} did not report success: {message}")
