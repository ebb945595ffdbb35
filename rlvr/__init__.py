"""rlvr: reasoning tasks as reinforcement-learning environments with rewards checked by code.

Importing the package registers every env id with Gymnasium:

    import gymnasium as gym
    import rlvr
    env = gym.make("rlvr/MathTree-v0")

or, with no prior import, `gym.make("rlvr:rlvr/MathTree-v0")`.
"""

from rlvr.registration import ENTRIES, entry, ids, make_multi, register_all

__version__ = "0.1.0"

register_all()

__all__ = ["ENTRIES", "__version__", "entry", "ids", "make_multi", "register_all"]
