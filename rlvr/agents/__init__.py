"""Agents that act in rlvr envs (random and oracle agents here; model policies later)."""
