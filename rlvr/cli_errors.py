"""How the `rlvr` command reports a failure: one `rlvr: error:` line and an exit code, never a traceback.

Exit code 2 for a bad request (an argument, a config value, an id); 1 for what surrounds it (an
optional extra not installed, with the pip command that installs it; a server that cannot be
reached; a file that cannot be read or written; anything unexpected); 130 for Ctrl-C. Text from
outside (a server's words, a file name) reaches the terminal on one line without control characters.
"""

from __future__ import annotations

import importlib.util
import os
import sys

OPTIONAL_MODULES = {
    "torch": "train", "transformers": "train", "tensorboard": "train", "matplotlib": "train",
    "vllm": "vllm", "trl": "trl", "datasets": "trl", "stable_baselines3": "sb3",
    "pyarrow": "data", "bm25s": "search", "selenium": "dev",
    "fastapi": "serve", "uvicorn": "serve", "websockets": "serve", "httpx": "serve", "ray": "ray",
    "skyrl_gym": "skyrl",
}
"""Import name of each optional dependency -> the extra of pyproject.toml that installs it (a test
checks this table against pyproject.toml both ways)."""


def describe_error(exc: BaseException, command: str = "this command") -> tuple[str, int]:
    """The `rlvr: error:` message of an exception and the exit code (see the module docstring)."""
    from rlvr.agents.openai_compat import OpenAICompatibleError

    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", 130
    if isinstance(exc, ImportError):
        return _missing_extra(exc, command), 1
    if isinstance(exc, OpenAICompatibleError):  # already names the URL and the last failure
        return _one_line(str(exc)), 1
    if isinstance(exc, OSError):
        return _os_error(exc), 1
    if isinstance(exc, KeyError | TypeError | ValueError):  # rlvr's own checks of what was asked
        return str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc), 2
    return _one_line(f"{type(exc).__name__}: {exc} (--debug shows the traceback)"), 1


def _missing_extra(exc: ImportError, command: str) -> str:
    """Name the extra that installs a missing optional dependency, with the pip command."""
    if "pip install" in str(exc):  # rlvr's own import guards already say what to install
        return _one_line(str(exc))
    causes = [exc, exc.__cause__, exc.__context__]
    missing = next((e.name for e in causes if isinstance(e, ImportError) and e.name), "") or ""
    module = missing.split(".")[0]
    extra = OPTIONAL_MODULES.get(module)
    if extra is None:  # not an optional dependency of rlvr: a broken install or a bug
        return _one_line(f"{type(exc).__name__}: {exc} (--debug shows the traceback)")
    pip = f'pip install "rlvr[{extra}]"'
    try:
        installed = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        installed = False
    if not installed:
        return f"rlvr {command} needs {module}, which is not installed: {pip}"
    return _one_line(f"rlvr {command} could not import {module} ({exc}): {pip} installs the versions rlvr supports")


def _os_error(exc: OSError) -> str:
    """'No such file or directory: runs/x/config.yaml' rather than '[Errno 2] No such file ...'."""
    if exc.strerror and exc.filename is not None:
        target = f"{exc.filename}" + (f" -> {exc.filename2}" if exc.filename2 is not None else "")
        return _one_line(f"{exc.strerror}: {target}")
    return _one_line(str(exc) or type(exc).__name__)


def _one_line(text: str) -> str:
    """Text from outside (a server's words, a file name) on one line, without control characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"rlvr: warning: {message}", file=sys.stderr)


def silence_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush does not report the broken pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file behind stdout (captured in tests): nothing to flush
        pass
