"""A step line's figures over the sampled tokens, taken before the advantage plug-in may drop any.

An advantage plug-in that leaves rollouts or tokens out of the loss (D3S, `drops`) does so by
editing the batch's loss mask, which is also the mask the step's token figures read. So they are
measured on the batch as sampled, before the advantages, and the line says what the loss kept
beside them:

- `entropy`: the policy's mean token entropy along its samples, over every sampled token
  (`rlvr.training.sampled_entropy`), the same figure whichever plug-in trains;
- `kept_token_fraction` (plug-ins that drop only): the share of the trained batch's sampled tokens
  that stayed in the loss.

The step's `mean_length` is the sampled response length for the same reason: `whole_batch` reads the
lengths before the advantages (`Trainer.rl_step`).
"""

from __future__ import annotations

from typing import Any

from rlvr.training.sampled_entropy import step_entropy


class SampledTokens:
    """Taken when the step's batch is scored and before its advantages; `line(batch)` after the update.

    `scored`: every (problems, batch) the step sampled (all of them enter the entropy); `batch`: the
    one the loss trains on. Counts are summed over the ranks."""

    def __init__(self, trainer: Any, scored: list, batch: Any) -> None:
        self._reduce = lambda value: float(trainer.dp.sum(value))
        self.entropy = step_entropy([part for _, part in scored], reduce=self._reduce)
        plugin = None if getattr(trainer, "objective", None) is not None else getattr(trainer, "advantage", None)
        self.drops = bool(getattr(plugin, "drops", False))
        self.tokens = self._count(batch) if self.drops else 0.0

    def _count(self, batch: Any) -> float:
        return self._reduce(float(batch.loss_mask.sum()))

    def line(self, batch: Any) -> dict[str, float]:
        """The step line's entries: the entropy, and the kept share for a plug-in that drops tokens
        (`batch`: the trained batch after the advantages, padding of ragged groups left out or not)."""
        kept = {"kept_token_fraction": self._count(batch) / self.tokens} if self.drops and self.tokens else {}
        return {**self.entropy, **kept}
