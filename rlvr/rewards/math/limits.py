"""The one check of a math-verify time limit, shared by the pool, the verifier and the envs."""

from __future__ import annotations

import math
import numbers

MAX_TIMEOUT = 86_400.0
"""The longest time limit a call may ask for (a day); anything longer is a mistake, not a limit."""


def check_timeout(timeout: object, name: str = "timeout") -> float:
    """`timeout` as float seconds; ValueError unless it is a real number in (0, MAX_TIMEOUT].

    >>> check_timeout(2)
    2.0
    >>> check_timeout(-1)
    Traceback (most recent call last):
    ...
    ValueError: timeout must be a number of seconds in (0, 86400], got -1
    """
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise ValueError(
            f"{name} must be a number of seconds in (0, {MAX_TIMEOUT:g}], got {type(timeout).__name__}"
        )
    try:
        value, shown = float(timeout), repr(timeout)
    except OverflowError:
        value, shown = math.inf, "an integer too large for a float"
    if not 0 < value <= MAX_TIMEOUT:  # also refuses NaN
        raise ValueError(f"{name} must be a number of seconds in (0, {MAX_TIMEOUT:g}], got {shown}")
    return value
