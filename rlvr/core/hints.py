"""Close-match hints for error messages: "unknown key 'horizn' (did you mean: horizon?)".

Every layer that rejects a name (env ids, difficulty knobs, constructor keywords, reward names,
score quantities, scenario files) appends the same hint, so a typo reads the same everywhere.
Two spellings exist because messages differ in how they show names: listed bare after a colon
(the default, up to three), or quoted like the Python value the caller passed (`quoted=True`).

>>> did_you_mean("horizn", ["horizon", "mode", "ratio"])
' (did you mean: horizon?)'
>>> did_you_mean("logprob", ["logprobs", "entropy"], most=1, cutoff=0.6, quoted=True)
" (did you mean 'logprobs'?)"
>>> did_you_mean("zzz", ["horizon"])
''
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_names(
    name: object, candidates: Iterable[object], *, most: int = 3, cutoff: float = 0.5
) -> list[str]:
    """Up to `most` candidates (as text, each once) that look like `name`, closest first.

    `name` and the candidates may be any objects: they are compared as text, because the name
    that failed a lookup is often not a string at all (a number, None, a list from YAML).
    """
    if most < 1:
        raise ValueError(f"most must be >= 1, got {most!r}")
    if not 0.0 <= cutoff <= 1.0:
        raise ValueError(f"cutoff must be in [0, 1], got {cutoff!r}")
    pool = list(dict.fromkeys(str(candidate) for candidate in candidates))
    return difflib.get_close_matches(str(name), pool, n=most, cutoff=cutoff)


def did_you_mean(
    name: object, candidates: Iterable[object], *, most: int = 3, cutoff: float = 0.5, quoted: bool = False
) -> str:
    """' (did you mean: a, b?)' (or " (did you mean 'a' or 'b'?)" when `quoted`) for the
    candidates close to `name`, or '' when none is: ready to append to an error message."""
    found = close_names(name, candidates, most=most, cutoff=cutoff)
    if not found:
        return ""
    if quoted:
        return f" (did you mean {' or '.join(repr(f) for f in found)}?)"
    return f" (did you mean: {', '.join(found)}?)"
