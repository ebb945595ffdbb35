"""`EnvCard`: what `rlvr list ID` shows for an env id, kept beside the code it describes.

Each Gymnasium env class carries the card of its id as the class attribute `card`, and each
PettingZoo versioned module (`rlvr.envs.debate_v0`) as the module attribute `card`; the id table
in `rlvr.registration` holds no prose and reads a card only when asked (`rlvr.entry(id).card`),
so registering the ids still imports no env module. A class that serves several ids keeps one
card per id under different names (`KGPathEnv.card`, `KGPathEnv.long_card`) and the table entry
names which one it shows.

A card is checked when it is built: every text field non-empty, `task` a `Task` subclass or
None, so a half-written card fails at import rather than printing blanks.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from rlvr.core.task import Task


@dataclass(frozen=True)
class EnvCard:
    """What `rlvr list` shows for an id: one paragraph a researcher can act on."""

    summary: str
    """What the env is, in a sentence or two."""
    observation: str
    """The observation space, in words."""
    action: str
    """What an action is and the answer forms that are read."""
    reward: str
    """How an episode is paid, and the components reported in `info`."""
    task: type[Task] | None = None
    """The Task whose difficulty knobs the card lists (an env class passes its `task_class`);
    None for an env that plays any task (Debate)."""

    def __post_init__(self) -> None:
        for item in fields(self):
            if item.name == "task":
                continue
            value = getattr(self, item.name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"EnvCard.{item.name} must be a non-empty string, got {value!r}")
        if self.task is not None and not (isinstance(self.task, type) and issubclass(self.task, Task)):
            raise TypeError(f"EnvCard.task must be a Task subclass or None, got {self.task!r}")
