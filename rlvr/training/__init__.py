"""The RL loop and its plug-in pieces.

- `advantages`: group advantage estimators (GRPO, Dr. GRPO, RLOO, DGPO, unlikeliness, UCAS);
- `losses`: policy losses (PPO-clip with the GRPO / DAPO / Dr. GRPO aggregations, KL, ROVER), each
  declaring the per-token quantities it needs from `Policy.score`;
- `shaping`: reward shaping and batch filters (DAPO overlong penalty and dynamic sampling,
  unlikeliness reward);
- `metrics`: evaluation metrics (pass@k, maj@k, distinct-n, E^3, semantic entropy).

Importing this package imports no torch; the modules with tensors (`advantages`, `losses`,
`shaping`) need the `train` extra, `metrics` does not.
"""
