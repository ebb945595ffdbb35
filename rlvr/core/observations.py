"""Observation types shared by the text envs of several families.

`TextObservation` is what a multi-agent text env (debate, two-player twenty questions) returns as
an observation: PettingZoo's api test compares `observation.dtype` with the observation space's
dtype, and a plain `str` has none. It lives here, not in one family, so that no family imports
another for it.

>>> from rlvr.core.spaces import UnicodeText
>>> observation = TextObservation("What is 3 + 4?")
>>> observation == "What is 3 + 4?", observation.dtype == UnicodeText(16).dtype
(True, True)
"""

from __future__ import annotations

import numpy as np


class TextObservation(str):
    """A plain string that also states the dtype of a text space (numpy's flexible unicode).

    It is a `str` in every other respect: it compares, hashes, slices and pickles as one, and any
    string operation on it returns a plain `str`.
    """

    __slots__ = ()
    dtype = np.dtype("<U")
