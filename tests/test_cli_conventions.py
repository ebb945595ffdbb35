"""Conventions of the `rlvr` command: --version, a help that lists every command, one `rlvr: error:`
line (never a traceback) per failure with its exit code, --debug, and the packaging metadata."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import rlvr
from rlvr import cli
from rlvr.cli import build_parser, main
from rlvr.cli_errors import OPTIONAL_MODULES, describe_error

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _commands() -> dict:
    """The parser's registered commands: name -> subparser (read from the parser, not a list kept here)."""
    (action,) = [a for a in build_parser()._actions if isinstance(a.choices, dict)]
    return action.choices


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rlvr: error: "), err
    assert "Traceback" not in err
    return lines[0]


# ---- --version and help ----


def test_version_is_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"rlvr {rlvr.__version__}\n"
    assert PYPROJECT["project"]["version"] == rlvr.__version__


def test_help_lists_every_command_on_one_line(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    commands = _commands()
    assert {"list", "play", "train", "eval", "export"} <= set(commands)
    with pytest.raises(SystemExit):
        main(["-h"])
    lines = capsys.readouterr().out.splitlines()
    for name, subparser in commands.items():
        summary = subparser.description.rstrip(".")
        summary = summary[0].lower() + summary[1:]
        assert any(re.fullmatch(rf"\s+{name}\s+{re.escape(summary)}", line) for line in lines), (name, lines)
    assert max(map(len, lines)) <= 80


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_has_its_own_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "-h"])
    assert exit_info.value.code == 0 and f"usage: rlvr {name}" in capsys.readouterr().out


# ---- one error line per failure ----


def _raising(exc: BaseException):
    def command(args):
        raise exc

    return command


@pytest.mark.parametrize(
    "exc, code, words",
    [
        (KeyboardInterrupt(), 130, "interrupted"),
        (RuntimeError("worker pool died\nbadly"), 1,
         "RuntimeError: worker pool died badly (--debug shows the traceback)"),
        (FileNotFoundError(2, "No such file or directory", "runs/x/config.yaml"), 1,
         "No such file or directory: runs/x/config.yaml"),
        (PermissionError(13, "Permission denied", "/runs/a", None, "/runs/b"), 1, "Permission denied: /runs/a -> /runs/b"),
        (ValueError("--samples expects a count >= 0"), 2, "--samples expects a count >= 0"),
        (KeyError("unknown id 'x'"), 2, "unknown id 'x'"),
    ],
)
def test_each_failure_is_one_line_with_its_exit_code(exc, code, words, capsys, monkeypatch):
    monkeypatch.setattr(cli, "cmd_algorithms", _raising(exc))
    assert main(["algorithms"]) == code
    assert _one_error_line(capsys.readouterr().err) == f"rlvr: error: {words}"


def test_server_text_reaches_the_terminal_on_one_line_without_control_characters():
    from rlvr.agents.openai_compat import OpenAICompatibleError

    message, code = describe_error(OpenAICompatibleError("HTTP 400: bad\r\n\x1b[31mred\x07 request"))
    assert (message, code) == ("HTTP 400: bad [31mred request", 1)


def test_a_missing_optional_dependency_names_its_extra(capsys, monkeypatch):
    def needs_torch(args):
        import torch  # noqa: F401  (the import is the failure under test)

    monkeypatch.setitem(sys.modules, "torch", None)  # what an install without torch looks like
    monkeypatch.setattr(cli, "cmd_algorithms", needs_torch)
    assert main(["algorithms"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line == 'rlvr: error: rlvr algorithms needs torch, which is not installed: pip install "rlvr[train]"'


@pytest.mark.parametrize("module", sorted(OPTIONAL_MODULES))
def test_every_optional_module_maps_to_a_pip_command(module, monkeypatch):
    monkeypatch.setitem(sys.modules, module, None)
    missing = ModuleNotFoundError(f"No module named {module!r}", name=f"{module}.sub")
    message, code = describe_error(missing, "train")
    assert code == 1 and message.endswith(f'pip install "rlvr[{OPTIONAL_MODULES[module]}]"')
    assert "not installed" in message


def test_an_installed_but_broken_dependency_is_told_apart():
    broken = ImportError("cannot import name 'FancyLayer' from 'torch'", name="torch")
    message, code = describe_error(broken, "train")
    assert code == 1 and "could not import torch" in message and "FancyLayer" in message
    assert 'pip install "rlvr[train]"' in message


def test_an_import_guard_message_is_kept_as_it_is(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    out = tmp_path / "unused.parquet"
    assert main(["export", "rlvr/Countdown-v0", "--n", "2", "--out", str(out)]) == 1
    assert "pip install 'rlvr[data]'" in _one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_an_unknown_import_failure_points_at_debug():
    message, code = describe_error(ModuleNotFoundError("No module named 'rlvr_plugin'", name="rlvr_plugin"))
    assert code == 1 and "rlvr_plugin" in message and "--debug" in message and "pip install" not in message


def test_an_unreachable_server_is_one_line(capsys, monkeypatch):
    pytest.importorskip("torch")
    from rlvr.agents.openai_compat import OpenAICompatibleAgent

    monkeypatch.setattr(OpenAICompatibleAgent, "_delay", lambda self, attempt, retry_after: 0.0)  # no waits
    with socket.socket() as probe:  # a port nothing listens on: bound, then closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["eval", "--env", "rlvr/RandomCalc-v0", "--base-url", f"http://127.0.0.1:{port}/v1",
                 "--model", "stub", "--problems", "2"])
    assert code == 1
    line = _one_error_line(capsys.readouterr().err)
    assert f"127.0.0.1:{port}" in line and "Connection refused" in line


def test_an_unwritable_output_is_an_os_error_line(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert main(["export", "rlvr/Countdown-v0", "--n", "2", "--out", str(blocker / "out.jsonl")]) == 1
    assert str(blocker) in _one_error_line(capsys.readouterr().err)


def test_debug_lets_the_exception_through(monkeypatch):
    monkeypatch.setattr(cli, "cmd_algorithms", _raising(RuntimeError("boom")))
    for argv in (["--debug", "algorithms"], ["algorithms", "--debug"]):
        with pytest.raises(RuntimeError, match="boom"):
            main(argv)
    monkeypatch.setenv("RLVR_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        main(["algorithms"])
    monkeypatch.setenv("RLVR_DEBUG", "0")
    assert main(["algorithms"]) == 1


def test_the_installed_command_prints_one_line_and_debug_the_traceback(tmp_path):
    script = Path(sys.executable).with_name("rlvr")
    if not script.exists():
        pytest.skip("the rlvr console script is not installed beside this Python")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    argv = [str(script), "export", "rlvr/Countdown-v0", "--n", "2", "--out", str(blocker / "out.jsonl")]
    plain = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 1 and plain.stdout == ""
    assert str(blocker) in _one_error_line(plain.stderr)
    debug = subprocess.run([*argv[:1], "--debug", *argv[1:]], capture_output=True, text=True, timeout=120)
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr


def test_play_refuses_a_zero_episode_count(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["play", "rlvr/MathTree-v0", "--episodes", "0"])
    assert exit_info.value.code == 2 and "expected an integer >= 1, got '0'" in capsys.readouterr().err


def test_a_malformed_set_pair_is_an_error_line(capsys):
    assert main(["play", "rlvr/MathTree-v0", "--set", "horizon"]) == 2
    assert _one_error_line(capsys.readouterr().err) == "rlvr: error: --set expects key=value, got 'horizon'"


# ---- packaging metadata ----


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "_", re.match(r"[A-Za-z0-9._-]+", r).group(0)).lower() for r in requirements}


def test_the_all_extra_holds_every_other_extra():
    extras = PYPROJECT["project"]["optional-dependencies"]
    (self_reference,) = extras["all"]
    named = re.fullmatch(r"rlvr\[([a-z0-9_,-]+)\]", self_reference.replace(" ", ""))
    assert named, f"expected all = ['rlvr[extra,...]'], got {extras['all']}"
    assert set(named.group(1).split(",")) == set(extras) - {"all"}


def test_optional_modules_match_the_extras_both_ways():
    extras = PYPROJECT["project"]["optional-dependencies"]
    for module, extra in OPTIONAL_MODULES.items():
        assert module in _requirement_names(extras[extra]), f"{module} is not installed by the {extra!r} extra"
    # every feature extra's packages are known (dev's test tools are not imported by commands)
    features = set().union(*(_requirement_names(reqs) for name, reqs in extras.items() if name not in ("all", "dev")))
    assert features <= set(OPTIONAL_MODULES), sorted(features - set(OPTIONAL_MODULES))


def test_license_metadata_matches_the_license_file():
    project = PYPROJECT["project"]
    text = (ROOT / project["license-files"][0]).read_text()
    assert project["license"] == "Apache-2.0" and "Apache License" in text and "Version 2.0" in text
    # PEP 639: a license expression excludes license classifiers, and setuptools reads it from 77 on
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]
    (setuptools,) = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    floor = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", setuptools)
    assert floor and int(floor.group(1)) >= 77, setuptools


def test_python_classifiers_agree_with_requires_python():
    project = PYPROJECT["project"]
    lowest = tuple(map(int, re.fullmatch(r">=(\d+)\.(\d+)", project["requires-python"]).groups()))
    versions = [tuple(map(int, c.rsplit(" ", 1)[1].split("."))) for c in project["classifiers"]
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    assert versions and all(v >= lowest for v in versions)


def test_python_dash_m_rlvr_is_the_rlvr_command():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "rlvr", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip().startswith("rlvr "), (done.stdout, done.stderr)
