"""`rlvr algorithms`: every registered plug-in of every kind is listed (names read from the
registries), with its reference, what it does and its settings; `rlvr algorithms NAME` shows one."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("torch")

from rlvr.cli import main  # noqa: E402
from rlvr.training.advantages import ADVANTAGES  # noqa: E402
from rlvr.training.algorithms import KINDS, LOSS_INFO, algorithms, find  # noqa: E402
from rlvr.training.generators import GENERATORS  # noqa: E402
from rlvr.training.losses import LOSSES  # noqa: E402
from rlvr.training.objectives import OBJECTIVES  # noqa: E402
from rlvr.training.reward_transforms import REWARD_TRANSFORMS  # noqa: E402
from rlvr.training.samplers import SAMPLERS  # noqa: E402

REGISTRIES = {"advantage": ADVANTAGES, "sampler": SAMPLERS, "reward transform": REWARD_TRANSFORMS, "loss": LOSSES,
              "generator": GENERATORS, "objective": OBJECTIVES}


def _run(capsys, *argv):
    code = main(["algorithms", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _sections(text):
    """Kind -> the plug-in names listed under its heading (a name line starts with two spaces and
    a name, the lines under it with more)."""
    sections, kind = {}, None
    for line in text.splitlines():
        heading = re.match(r"(.+) plug-ins \(", line)
        if heading:
            kind = heading.group(1)
            sections[kind] = []
        elif kind and re.match(r"  \S", line):
            sections[kind].append(line.split()[0])
    return sections


def test_the_listing_names_every_registered_plugin_under_its_kind(capsys):
    code, out, _ = _run(capsys)
    assert code == 0
    assert _sections(out) == {kind: list(registry) for kind, registry in REGISTRIES.items()}
    # settings with their defaults, read from the classes
    assert "settings: beta_rank=0.25" in out and "settings: mode=(required)" in out
    assert "settings: share=0.5, pool_size=256" in out and "eps_high=0.28, aggregation=token_mean" in out


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_plugin_has_a_reference_and_a_summary(kind):
    listed = [algorithm for algorithm in algorithms() if algorithm.kind == kind]
    assert [algorithm.name for algorithm in listed] == list(REGISTRIES[kind])
    for algorithm in listed:
        assert algorithm.source.strip() and algorithm.summary.strip(), (kind, algorithm.name)
    if kind == "loss":
        assert set(LOSS_INFO) == set(LOSSES)  # a new loss needs its two lines here


def test_one_name_shows_each_kind_that_has_it_with_what_each_setting_does(capsys):
    code, out, _ = _run(capsys, "grpo")
    assert code == 0
    assert [block.split()[0] for block in out.strip().split("\n\n")] == ["grpo", "grpo"]
    assert "(advantage; advantage: grpo" in out and "(loss; loss: grpo" in out
    code, out, _ = _run(capsys, "corrupt")
    assert "reward_transforms: [{name: corrupt, ...}]" in out
    assert re.search(r"mode = \(required\): accurate, random .*inverted", out)


@pytest.mark.parametrize("name", sorted({a.name for a in algorithms()}))
def test_every_name_can_be_shown(capsys, name):
    code, out, _ = _run(capsys, name)
    assert code == 0 and out.startswith(name) and len(find(name)) == out.count("reference: ")


def test_an_unknown_name_is_an_error_with_close_matches(capsys):
    code, out, err = _run(capsys, "unlikelyness")
    assert code == 2 and not out
    assert "unknown algorithm 'unlikelyness' (did you mean 'unlikeliness'?)" in err
