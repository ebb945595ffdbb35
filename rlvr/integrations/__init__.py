"""Adapters that let other training ecosystems use rlvr tasks and envs.

- `rlvr.integrations.trl`: reward functions, datasets and a multi-turn env rollout for TRL's
  `GRPOTrainer` (`pip install 'rlvr[trl]'`).

Each adapter imports its ecosystem only when used, so importing this package costs nothing.
"""
