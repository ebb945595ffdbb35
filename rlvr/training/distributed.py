"""The data-parallel learner's pieces on torch.distributed: init, sharding, reductions, gradients.

    torchrun --standalone --nproc-per-node 2 -m rlvr train scenarios/ddp_cpu.yaml

A launcher (`torchrun`, `accelerate launch`) starts one process per rank and sets `RANK`,
`WORLD_SIZE`, `LOCAL_RANK` and the rendezvous address; `DataParallel.from_env` joins the process
group from them (gloo on CPU, nccl on CUDA, each rank on GPU `LOCAL_RANK`). Without them it is one
rank of one, and every method below is the identity: a single process runs exactly as before.

How a step splits (the trainer calls these; the step's batch-level pieces are in
`rlvr.training.distributed_step`):
- every rank asks its sampler for the same B problems (the samplers' states are identical, since
  each observes the same gathered rewards) and plays its contiguous share (`shard`): whole groups,
  so a group's advantage never needs another rank's rollouts;
- per-group tensors (rewards, lengths, the verifier's `correct`) are gathered (`gather_rows`), so
  reward transforms, advantages, DAPO's filter, the sampler and the metrics see the global batch
  and every rank computes the same numbers; each rank keeps its own rows (`local_rows`);
- the loss of each rank is scaled by its share of the aggregation's count (tokens or rows,
  `rlvr.training.token_aggregation.aggregation_count`) and the gradients are summed (`sum_gradients`), so the
  update equals one process's over the union of the shards.

Gradients are all-reduced by hand rather than through `DistributedDataParallel`: sampling runs
the model a different number of times on each rank (rows stop at different lengths), and DDP's
forward joins a collective (buffer broadcast) per call; the policy also reads attributes of its
model that a DDP wrapper hides. One flat all-reduce per step after `backward` costs the same
traffic as DDP's buckets without their overlap with the backward pass.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any

import torch

_TIMEOUT = timedelta(minutes=60)
"""How long a rank waits in a collective: rank 0 evaluates alone while the others wait."""
_BUCKET = 1 << 24
"""Gradient elements per all-reduce call (a bounded extra buffer for large models)."""


def launched() -> bool:
    """True when a launcher started this process as one rank of several (`WORLD_SIZE` > 1)."""
    return _env_int("WORLD_SIZE", 1) > 1


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer (set by torchrun), "
                         f"got {text!r}") from None


class DataParallel:
    """This process's place among the learner's ranks; one rank of one when not launched."""

    def __init__(self, rank: int = 0, world: int = 1, local_rank: int = 0, device: str = "cpu") -> None:
        if not 0 <= rank < world:
            raise ValueError(f"expected 0 <= rank < world size, got rank {rank} of {world}")
        self.rank, self.world, self.local_rank, self.device = rank, world, local_rank, device
        self._sharded: list[Any] = []  # the FSDP2 modules, once `shard_model` wrapped the model

    @classmethod
    def from_env(cls, device: str = "auto") -> DataParallel:
        """Join the process group the launcher's environment describes (once per process), or one
        rank of one without it. `device`: the config's; CUDA ranks each take GPU `LOCAL_RANK`."""
        if not launched():
            return cls()
        import torch.distributed as dist

        rank, world, local_rank = _env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0)
        cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
        if cuda:
            if local_rank >= torch.cuda.device_count():
                raise ValueError(f"rank {rank} has LOCAL_RANK {local_rank}, but this node shows "
                                 f"{torch.cuda.device_count()} GPU(s): start at most one rank per GPU")
            torch.cuda.set_device(local_rank)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if cuda else "gloo", timeout=_TIMEOUT)
            atexit.register(_destroy)
        if (dist.get_rank(), dist.get_world_size()) != (rank, world):
            raise ValueError(f"the process group has rank {dist.get_rank()} of {dist.get_world_size()}, "
                             f"the environment says {rank} of {world}")
        return cls(rank, world, local_rank, f"cuda:{local_rank}" if cuda else "cpu")

    @property
    def active(self) -> bool:
        """More than one rank: collectives run."""
        return self.world > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that logs, evaluates and writes the run folder."""
        return self.rank == 0

    def policy_device(self, device: str) -> str:
        """The config's device for this rank: GPU `LOCAL_RANK` when ranks run on CUDA."""
        return self.device if self.active and self.device.startswith("cuda") else device

    # ---- sharding ------------------------------------------------------------------------------
    def bounds(self, count: int, rank: int | None = None) -> tuple[int, int]:
        """[start, stop) of `rank`'s contiguous share of `count` items (when `count` does not divide,
        some ranks take one more).

        >>> [DataParallel(rank, 2).bounds(5) for rank in range(2)]
        [(0, 2), (2, 5)]
        """
        rank = self.rank if rank is None else rank
        return rank * count // self.world, (rank + 1) * count // self.world

    def shard(self, items: Sequence[Any]) -> list[Any]:
        """This rank's contiguous share of `items`; in rank order, the shares concatenate to `items`."""
        start, stop = self.bounds(len(items))
        return list(items[start:stop])

    # ---- reductions ----------------------------------------------------------------------------
    def _collective_tensor(self, tensor: torch.Tensor, copy: bool = True) -> torch.Tensor:
        # gloo and nccl take neither bool nor every device: send bytes / floats from the group's device.
        # A copy, since collectives write in place and `.to` may return the caller's own tensor
        if tensor.dtype == torch.bool:
            tensor = tensor.to(torch.uint8)
        return tensor.detach().to(self.device, copy=copy).contiguous()

    def sum(self, value: torch.Tensor | float) -> torch.Tensor:
        """The sum over ranks (a float32/float64 tensor; `value` itself on one rank)."""
        tensor = torch.as_tensor(value)
        if not self.active:
            return tensor
        import torch.distributed as dist

        reduced = self._collective_tensor(tensor.to(torch.float64))
        dist.all_reduce(reduced)
        return reduced.to(tensor.device)

    def max(self, values: Sequence[float]) -> list[float]:
        """Elementwise maximum over ranks of a list of numbers."""
        if not self.active:
            return list(values)
        import torch.distributed as dist

        tensor = self._collective_tensor(torch.tensor(list(values), dtype=torch.float64))
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return tensor.cpu().tolist()

    def all_true(self, flag: bool) -> bool:
        """True when `flag` holds on every rank (one rank's non-finite loss skips the step on all)."""
        if not self.active:
            return bool(flag)
        return bool(self.sum(0.0 if flag else 1.0) == 0)

    def gather_rows(self, tensor: torch.Tensor) -> torch.Tensor:
        """Every rank's `tensor` concatenated along dim 0 in rank order. The number of rows may differ
        across ranks, and so may a second dim (token positions: right-padded with zeros to the widest);
        further dims must agree (a rank without rows may hold any)."""
        if not self.active:
            return tensor
        import torch.distributed as dist

        shape = torch.tensor(tensor.shape, dtype=torch.long, device=self.device)
        shapes = [torch.empty_like(shape) for _ in range(self.world)]
        dist.all_gather(shapes, shape)
        sizes = [s.tolist() for s in shapes]
        largest = [max(size[dim] for size in sizes) for dim in range(tensor.dim())]
        if any(size[2:] != largest[2:] for size in sizes if size[0]):
            raise ValueError(f"gather_rows: ranks hold tensors of shapes {sizes}; only the first two dims "
                             "may differ")
        padded = torch.zeros(largest, dtype=tensor.dtype, device=tensor.device)
        padded[tuple(slice(0, n) for n in tensor.shape)] = tensor
        sent = self._collective_tensor(padded)
        parts = [torch.empty_like(sent) for _ in range(self.world)]
        dist.all_gather(parts, sent)
        out = torch.cat([part[: size[0]] for part, size in zip(parts, sizes, strict=True)])
        return out.to(device=tensor.device, dtype=tensor.dtype)

    def gather_json(self, value: Any) -> list[Any]:
        """Every rank's JSON-able `value`, in rank order."""
        if not self.active:
            return [value]
        data = torch.tensor(list(json.dumps(value).encode()), dtype=torch.uint8)
        sizes = self.gather_rows(torch.tensor([len(data)], dtype=torch.long)).tolist()
        flat, values, start = self.gather_rows(data), [], 0
        for size in sizes:
            values.append(json.loads(bytes(flat[start : start + size].tolist()).decode()))
            start += size
        return values

    def local_rows(self, tensor: torch.Tensor, count: int) -> torch.Tensor:
        """This rank's `count` rows of a tensor gathered by `gather_rows` (the others' counts are
        asked for: shares may be uneven after DAPO's filter)."""
        if not self.active:
            return tensor
        counts = self.gather_rows(torch.tensor([count], dtype=torch.long)).tolist()
        start = sum(counts[: self.rank])
        return tensor[start : start + count]

    def share(self, count: torch.Tensor | float) -> torch.Tensor:
        """local / global of a loss normaliser (`aggregation_count`), the global clamped at 1 as the
        single-process mean clamps its own."""
        local = torch.as_tensor(count, dtype=torch.float64)
        return (local / self.sum(local).clamp_min(1.0)).to(torch.float32)

    # ---- FSDP2 --------------------------------------------------------------------------------
    @property
    def fsdp(self) -> bool:
        """The model is sharded over the ranks (`parallel: fsdp`)."""
        return bool(self._sharded)

    def shard_model(self, model: torch.nn.Module) -> None:
        """Shard `model` with FSDP2's `fully_shard`: each decoder layer its own unit (gathered
        one at a time in the forward and backward passes), the rest (embeddings, tied head) the
        root's. Build the optimizer after this: it must hold the sharded parameters."""
        if not self.active:
            return
        from torch.distributed.fsdp import FSDPModule, fully_shard

        layers = getattr(getattr(model, "model", None), "layers", None)
        for layer in layers if layers is not None else []:
            fully_shard(layer)
        fully_shard(model)
        self._sharded = [module for module in model.modules() if isinstance(module, FSDPModule)]

    @contextlib.contextmanager
    def gathered(self) -> Iterator[None]:
        """Whole parameters on every rank for what runs the model unevenly across ranks (sampling:
        rows stop at different lengths; rank 0's evaluation): a sharded forward gathers each layer
        with a collective, which every rank would have to join. Every rank must enter it."""
        if not self._sharded:
            yield
            return
        self.keep_gathered()
        try:
            yield
        finally:
            for module in self._sharded:
                module.reshard()
                module.set_reshard_after_forward(True, recurse=False)

    def keep_gathered(self) -> None:
        """Gather the whole parameters on every rank and keep them so (every rank must call)."""
        for module in self._sharded:
            module.unshard()
            module.set_reshard_after_forward(False, recurse=False)

    def model_state(self, model: torch.nn.Module) -> dict[str, Any]:
        """The whole model's state dict (FSDP: gathered on rank 0, on the CPU; every rank must call)."""
        if not self._sharded:
            return model.state_dict()
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))

    def optimizer_state(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        """The optimizer's whole state (FSDP: keyed by parameter name, gathered on rank 0)."""
        if not self._sharded:
            return optimizer.state_dict()
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

        return get_optimizer_state_dict(model, optimizer,
                                        options=StateDictOptions(full_state_dict=True, cpu_offload=True))

    def load_states(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, model_state: Any,
                    optimizer_state: Any) -> None:
        """Load what `model_state` and `optimizer_state` gave (every rank read the whole file)."""
        if not self._sharded:
            model.load_state_dict(model_state)
            optimizer.load_state_dict(optimizer_state)
            return
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            set_model_state_dict,
            set_optimizer_state_dict,
        )

        options = StateDictOptions(full_state_dict=True)
        set_model_state_dict(model, model_state, options=options)
        set_optimizer_state_dict(model, optimizer, optimizer_state, options=options)

    # ---- parameters and gradients -------------------------------------------------------------
    @property
    def gradient_factor(self) -> float:
        """What a rank's loss is multiplied by besides its share: FSDP averages the gradients it
        reduce-scatters (and its averaging also keeps the warm-up, the same batch on every rank,
        right), where the update wants their sum."""
        return float(self.world) if self._sharded else 1.0

    def sum_gradients(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """Replace each gradient by its sum over ranks, in flat buckets. A parameter without a
        gradient on every rank keeps none (AdamW skips it, as it would in one process). FSDP has
        reduced them in the backward pass already."""
        if not self.active or self._sharded:
            return
        import torch.distributed as dist

        params = [p for p in parameters if p.requires_grad]
        present = self.sum(torch.tensor([p.grad is not None for p in params], dtype=torch.float64))
        params = [p for p, seen in zip(params, present.tolist(), strict=True) if seen]
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        for bucket in _buckets(params):
            flat = torch.cat([p.grad.reshape(-1) for p in bucket])
            reduced = self._collective_tensor(flat, copy=False)  # `flat` is a fresh buffer already
            dist.all_reduce(reduced)
            reduced = reduced.to(flat.device)
            offset = 0
            for p in bucket:
                p.grad.copy_(reduced[offset : offset + p.numel()].view_as(p.grad))
                offset += p.numel()

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Give every rank rank 0's parameters and buffers (after work each rank did on its own).
        FSDP shards differ by design, and its reductions keep them consistent: nothing to do."""
        if not self.active or self._sharded:
            return
        import torch.distributed as dist

        with torch.no_grad():
            for tensor in [*module.parameters(), *module.buffers()]:
                sent = self._collective_tensor(tensor)
                dist.broadcast(sent, src=0)
                tensor.copy_(sent.to(tensor.device, tensor.dtype))

    def broadcast_json(self, value: Any) -> Any:
        """Rank 0's `value` (JSON-able: numbers, text, lists, dicts) on every rank. JSON, not pickle:
        what crosses between processes is data only."""
        if not self.active:
            return value
        import torch.distributed as dist

        data = json.dumps(value, default=_plain_number).encode() if self.is_main else b""
        size = self._collective_tensor(torch.tensor([len(data)], dtype=torch.long))
        dist.broadcast(size, src=0)
        buffer = torch.zeros(int(size.item()), dtype=torch.uint8)
        if self.is_main:
            buffer = torch.frombuffer(bytearray(data), dtype=torch.uint8)
        sent = self._collective_tensor(buffer)
        dist.broadcast(sent, src=0)
        # rank 0 reads the text back too, so every rank holds the same types (numpy numbers become floats)
        return json.loads(data.decode()) if self.is_main else json.loads(bytes(sent.cpu().tolist()).decode())

    def barrier(self) -> None:
        """Wait for every rank (after rank 0 wrote a file the others will read)."""
        if self.active:
            import torch.distributed as dist

            dist.barrier()


def _buckets(params: list[torch.nn.Parameter]) -> Iterable[list[torch.nn.Parameter]]:
    bucket, size = [], 0
    for p in params:
        if bucket and size + p.numel() > _BUCKET:
            yield bucket
            bucket, size = [], 0
        bucket.append(p)
        size += p.numel()
    if bucket:
        yield bucket


def _plain_number(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy and torch numbers and arrays
        return value.tolist()
    raise TypeError(f"expected JSON data (numbers, text, lists, dicts), got {type(value).__name__}")


def _destroy() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def gather_valid(dp: DataParallel, valid: torch.Tensor | None, shape: Any) -> torch.Tensor | None:
    """The step's `valid` [B, G] over every rank from each rank's own (None: its groups, shaped
    `shape`, are all full); None when every rollout of the step exists, as a dense batch has it.
    Every rank calls it (a collective), whether its own groups are ragged or not."""
    if not dp.active:
        return valid
    mine = torch.ones(tuple(shape), dtype=torch.bool) if valid is None else valid.to(torch.bool).cpu()
    whole = dp.gather_rows(mine)  # a narrower rank's groups pad with False: rollouts that do not exist
    return None if bool(whole.all()) else whole
