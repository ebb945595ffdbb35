"""What every plug-in kind shares: settings declared as dataclass fields and checked when a plug-in
is built, and a registry by name whose errors name close matches.

A plug-in kind (advantage, sampler, reward transform, ...) is a dataclass base whose subclasses
declare their settings with `setting(...)`, call `check_settings(kind, self)` in `__post_init__`,
and register in the kind's `Registry`:

    ADVANTAGES = Registry("advantage")

    @ADVANTAGES.register
    @dataclass(frozen=True)
    class Unlikeliness(AdvantagePlugin):
        name: ClassVar[str] = "unlikeliness"
        beta_rank: float = setting(0.25, "how much likelier correct rollouts lose", low=0.0, high=1.0)

`ADVANTAGES.build("unlikeliness", {"beta_rank": 0.5})` then refuses an unknown name or setting
with close matches, and a value of the wrong type or out of range with what was expected.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any, ClassVar, TypeVar

from rlvr.core.hints import did_you_mean

PluginClass = TypeVar("PluginClass", bound=type)


REQUIRED: Any = dataclasses.MISSING
"""The default of a setting that has none: a scenario must give it."""


def setting(default: Any, doc: str, *, low: float | None = None, high: float | None = None,
            low_open: bool = False, choices: Sequence[str] = ()) -> Any:
    """A plug-in setting: its default (`REQUIRED`: none; a mutable one is copied per instance), one
    line saying what it does, its range for numbers ([low, high], or (low, high] with `low_open`)
    or its choices for text."""
    metadata = {"doc": doc, "low": low, "high": high, "low_open": low_open, "choices": tuple(choices)}
    if default is REQUIRED:
        return field(metadata=metadata)
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def settings_fields(cls: type) -> list[dataclasses.Field]:
    """The settings of a plug-in class: its init fields (state set later is not a setting)."""
    return [item for item in dataclasses.fields(cls) if item.init]


def settings_of(cls: type) -> dict[str, tuple[Any, str]]:
    """Setting name -> (default, what it does), for listings and docs; a required setting's
    default is `REQUIRED`."""
    return {item.name: (item.default_factory() if item.default_factory is not dataclasses.MISSING else item.default,
                        item.metadata.get("doc", "")) for item in settings_fields(cls)}


def check_settings(kind: str, plugin: Any) -> None:
    """Check every setting of `plugin` (type and range); an int given for a float setting (YAML's
    `0`) becomes a float. Works on frozen dataclasses too."""
    hints = typing.get_type_hints(type(plugin))
    for item in settings_fields(type(plugin)):
        value = getattr(plugin, item.name)
        if _bare(hints[item.name]) is float and type(value) is int:
            value = float(value)
            object.__setattr__(plugin, item.name, value)
        _check_setting(f"{kind} {plugin.name!r} setting {item.name}", item, hints[item.name], value)


def _bare(hint: Any) -> Any:
    """`int | None` -> int; other hints unchanged."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(hint) if option is not type(None)]
        return options[0] if len(options) == 1 else hint
    return hint


def _check_setting(where: str, item: dataclasses.Field, hint: Any, value: Any) -> None:
    """Type, range and choices of one setting; a bool is not a number, floats must be finite; an
    optional setting (`T | None`) may be left None."""
    if value is None and _bare(hint) is not hint:
        return
    hint = _bare(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where} expects true or false, got {value!r} ({type(value).__name__})")
        return
    if hint in (int, float):
        number_types = (int,) if hint is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, number_types):
            raise ValueError(f"{where} expects {hint.__name__}, got {value!r} ({type(value).__name__})")
        if not math.isfinite(value):
            raise ValueError(f"{where} expects a finite number, got {value!r}")
        low, high, low_open = item.metadata.get("low"), item.metadata.get("high"), item.metadata.get("low_open")
        too_low = low is not None and (value <= low if low_open else value < low)
        if too_low or (high is not None and value > high):
            left = "(" if low_open else "["
            span = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}]"
            raise ValueError(f"{where} must be in {span}, got {value!r}")
        return
    choices = item.metadata.get("choices") or ()
    if hint is str and choices:
        if not isinstance(value, str) or value not in choices:
            close = did_you_mean(value, choices, quoted=True) if isinstance(value, str) else ""
            raise ValueError(f"{where} must be one of {list(choices)}, got {value!r}{close}")
        return
    origin = typing.get_origin(hint) or hint
    if isinstance(origin, type) and not isinstance(value, origin):
        raise ValueError(f"{where} expects {origin.__name__}, got {value!r} ({type(value).__name__})")


class Stateless:
    """What a plug-in base without state shares: an empty `state_dict`, a `load_state_dict` that
    refuses any state, and `settings()` for listings. `kind` names the plug-in kind in errors."""

    kind: ClassVar[str] = "plug-in"
    name: ClassVar[str] = ""

    def state_dict(self) -> dict[str, Any]:
        """State kept across steps, as tensors and plain values; stateless plug-ins have none."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()`'s values."""
        if state:
            raise ValueError(f"{self.kind} {self.name!r} keeps no state, got a state with {sorted(state)}")

    @classmethod
    def settings(cls) -> dict[str, tuple[Any, str]]:
        """Setting name -> (default, what it does), for listings and docs."""
        return settings_of(cls)


class Registry(dict):
    """Name -> plug-in class for one kind: the one place the trainer and the config look names up."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def register(self, cls: PluginClass) -> PluginClass:
        """Class decorator: add a plug-in under its `name` (once)."""
        if not cls.name or cls.name in self:
            raise ValueError(f"expected a new {self.kind} name, got {cls.name!r} (registered: {sorted(self)})")
        self[cls.name] = cls
        return cls

    def build(self, name: str, settings: Mapping[str, Any] | None = None) -> Any:
        """The registered plug-in `name` with `settings`, refusing unknown names and settings with
        close matches (and bad values through the plug-in's own `check_settings`)."""
        if name not in self:
            raise ValueError(f"unknown {self.kind} {name!r}{did_you_mean(str(name), self, quoted=True)}; "
                             f"expected one of {', '.join(self)}")
        cls = self[name]
        settings = dict(settings or {})
        allowed = [item.name for item in settings_fields(cls)]
        for key in settings:
            if key not in allowed:
                takes = f"takes settings {allowed}" if allowed else "takes no settings"
                raise ValueError(f"{self.kind} {name!r} {takes}, got {key!r}" + did_you_mean(str(key), allowed))
        missing = [item.name for item in settings_fields(cls)
                   if item.default is REQUIRED and item.default_factory is dataclasses.MISSING and item.name not in settings]
        if missing:
            raise ValueError(f"{self.kind} {name!r} needs setting(s) {missing}, got {sorted(settings) or 'none'}")
        return cls(**settings)
