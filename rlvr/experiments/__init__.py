"""Experiment runners: seeded runs over envs and agents that write tables, plots and transcripts.

A runner sits above the envs and the agents it plays (it may import envs, agents, rewards and
core; nothing below imports it). `rlvr run SCENARIO` reaches a runner through the scenario's
`experiment:` value (`rlvr.cli.EXPERIMENTS`):
- `debate` (`rlvr.experiments.debate`): debate protocols played by simulated debaters
  (`rlvr.agents.debate`) through `rlvr/Debate-v0`.
"""
