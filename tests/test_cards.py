"""Doc cards: every id's card sits on its env class (or versioned module), is complete, and is what
`rlvr list` prints; the id table stays lazy."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import io
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import rlvr
from rlvr.cli import main
from rlvr.core.cards import EnvCard
from rlvr.core.task import Task
from rlvr.registration import EnvEntry, load

IDS = rlvr.ids()
TEXT_FIELDS = ("summary", "observation", "action", "reward")


def list_output(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["list", *args]) == 0
    return out.getvalue()


def test_importing_rlvr_imports_no_env_module():
    """Registering every id and reading the table (ids, entries, kinds) imports no env module:
    only reading a card does, and only that id's module."""
    code = (
        "import sys, rlvr\n"
        "assert rlvr.ids() and all(e.entry_point for e in rlvr.ENTRIES)\n"
        "entry = rlvr.entry('rlvr/Countdown-v0')\n"
        "print(sorted(m for m in sys.modules if m.startswith('rlvr.envs')))\n"
        "entry.card\n"
        "print('rlvr.envs.countdown.env' in sys.modules, 'rlvr.envs.mathtree.env' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[]", "True False"]


@pytest.mark.parametrize("env_id", IDS)
def test_every_id_has_a_complete_card_beside_its_code(env_id):
    entry = rlvr.entry(env_id)
    owner = load(entry.entry_point)
    if entry.kind == "pettingzoo":
        assert inspect.ismodule(owner), f"{env_id}: a multi-agent entry point names a versioned module"
    else:
        assert inspect.isclass(owner), f"{env_id}: a single-agent entry point names an env class"
    # defined on the class itself: a subclass registered under a new id must not show its parent's card
    assert entry.card_attr in vars(owner), f"{env_id}: {entry.card_attr!r} is not defined on {owner!r}"
    card = entry.card
    assert isinstance(card, EnvCard)
    for name in TEXT_FIELDS:
        value = getattr(card, name)
        assert isinstance(value, str) and value.strip() == value and len(value) >= 10, (env_id, name, value)
    assert card.reward != card.summary and card.action != card.observation
    if entry.kind == "gymnasium":
        # one source: the card's task is the class's own task_class, not a second spelling of it
        assert card.task is not None and card.task is owner.task_class, env_id
    if card.task is not None:
        assert issubclass(card.task, Task) and card.task.knobs, env_id


def test_no_two_ids_show_the_same_card():
    """A class serving a second id (different kwargs) needs its own card for it, named by the entry."""
    cards = [rlvr.entry(env_id).card for env_id in IDS]
    assert len({id(card) for card in cards}) == len(IDS)
    assert len({card.summary for card in cards}) == len(IDS)


@pytest.mark.parametrize("env_id", IDS)
def test_list_id_prints_the_card_and_the_knobs_of_its_task(env_id):
    """The layout of `rlvr list ID`, field by field, from the card and its task (the text
    `rlvr list` printed for every id when the cards lived in the id table)."""
    entry = rlvr.entry(env_id)
    card = entry.card
    expected = (
        f"{entry.id}  ({entry.kind})\n\n{card.summary}\n\n"
        f"observation: {card.observation}\naction:      {card.action}\nreward:      {card.reward}\n"
    )
    if entry.vector_entry_point:
        expected += "vector:      native batched implementation (gym.make_vec(..., vectorization_mode='vector_entry_point'))\n"
    knobs = list(card.task.knobs) if card.task else []
    if knobs:
        expected += "\ndifficulty knobs (constructor keywords, or reset(options={'difficulty': {...}})):\n"
        expected += "".join(f"  {knob.describe()}\n" for knob in knobs)
    assert list_output(env_id) == expected
    assert "reward:" in expected and card.reward in expected


def test_list_rows_name_each_ids_kind_and_knobs():
    lines = list_output().splitlines()
    assert lines[0].split() == ["id", "kind", "knobs"]
    rows = {line.split()[0]: line for line in lines[1:] if line.startswith("rlvr/")}
    assert list(rows) == IDS
    for env_id in IDS:
        entry = rlvr.entry(env_id)
        task = entry.card.task
        names = ", ".join(knob.name for knob in task.knobs) if task else ""
        assert rows[env_id].split(None, 2)[1] == entry.kind
        assert rows[env_id].rstrip().endswith(names), rows[env_id]


def test_a_class_serving_two_ids_shows_each_its_own_card():
    short, long = rlvr.entry("rlvr/KGPath-v0"), rlvr.entry("rlvr/KGPathLong-v0")
    assert short.entry_point == long.entry_point and long.kwargs
    assert short.card is not long.card and "4-5 hop" in long.card.summary
    assert "4-5 hop" in list_output("rlvr/KGPathLong-v0") and "4-5 hop" not in list_output("rlvr/KGPath-v0")


def test_a_missing_card_is_an_error_naming_the_id_and_the_attribute():
    entry = EnvEntry("rlvr/Nope-v0", "rlvr.envs.kg.env:KGPathEnv", card_attr="short_card")
    with pytest.raises(TypeError, match=r"rlvr/Nope-v0: expected an EnvCard at rlvr\.envs\.kg\.env:KGPathEnv "
                                        r"attribute 'short_card', got None"):
        _ = entry.card


@pytest.mark.parametrize("env_id", IDS)
def test_docstrings_point_to_the_card_and_do_not_repeat_it(env_id):
    entry = rlvr.entry(env_id)
    owner = load(entry.entry_point)
    card = entry.card
    module = owner if inspect.ismodule(owner) else sys.modules[owner.__module__]
    docs = {"module": module.__doc__ or ""}
    if inspect.isclass(owner):
        docs["class"] = owner.__doc__ or ""
        assert f"`{entry.card_attr}`" in docs["class"], f"{owner.__name__}'s docstring does not point to its card"
        assert len(docs["class"].splitlines()) <= 3, f"{owner.__name__}'s docstring is longer than a pointer"
    else:
        assert "`card`" in docs["module"]
    for where, doc in docs.items():
        flat = " ".join(doc.split())
        for name in TEXT_FIELDS:
            assert getattr(card, name) not in flat or len(getattr(card, name)) < 40, (env_id, where, name)


@given(st.fixed_dictionaries({name: st.text(max_size=8) for name in TEXT_FIELDS}))
def test_a_card_with_a_blank_field_is_refused(texts):
    blank = [name for name in TEXT_FIELDS if not texts[name].strip()]
    if blank:
        with pytest.raises(ValueError, match=f"EnvCard.{blank[0]} must be a non-empty string, got"):
            EnvCard(**texts)
    else:
        assert dataclasses.asdict(EnvCard(**texts)) == {**texts, "task": None}


@pytest.mark.parametrize("task", ["rlvr.envs.countdown.task:CountdownTask", int, object()])
def test_a_card_task_must_be_a_task_class(task):
    with pytest.raises(TypeError, match="EnvCard.task must be a Task subclass or None, got"):
        EnvCard("s", "o", "a", "r", task=task)
