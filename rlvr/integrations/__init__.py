"""Adapters that let other training ecosystems use rlvr tasks and envs.

- `rlvr.integrations.trl`: reward functions, datasets and a multi-turn env rollout for TRL's
  `GRPOTrainer` (`pip install 'rlvr[trl]'`).
- `rlvr.integrations.reasoning_gym`: a reasoning-gym-style procedural dataset with `score_answer`.
- `rlvr.integrations.verifiers_env`: a verifiers-style `load_environment` (rows and a rubric).
- `rlvr.integrations.skyrl`: a SkyRL-Gym `BaseTextEnv` for every id and rows in SkyRL's dataset
  format (`pip install 'rlvr[skyrl]'`); `gem` and `textarena`: GEM- and TextArena-style
  wrappers; all three play ids through `rlvr.integrations.text_session`.
- `rlvr.integrations.sb3`: a native vector env as a Stable-Baselines3 `VecEnv`
  (`pip install 'rlvr[sb3]'`).

Each adapter imports its ecosystem only when used, so importing this package costs nothing.
"""
