"""Adapters that let other training ecosystems use rlvr tasks and envs.

- `rlvr.integrations.trl`: reward functions, datasets and a multi-turn env rollout for TRL's
  `GRPOTrainer` (`pip install 'rlvr[trl]'`).
- `rlvr.integrations.reasoning_gym`: a reasoning-gym-style procedural dataset with `score_answer`.
- `rlvr.integrations.verifiers_env`: a verifiers-style `load_environment` (rows and a rubric).

Each adapter imports its ecosystem only when used, so importing this package costs nothing.
"""
