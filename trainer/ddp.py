"""The recipe's pieces that exist only when a run has several processes (DDP under torchrun).

For: wrapping the loss computation in ``DistributedDataParallel`` (its forward is the labelled-token
loss, so DDP's gradient all-reduce sees every trainable LoRA weight; the frozen base is loaded the
same on every rank and is not broadcast), a digest of the trainable weights so a run can check that
its replicas are identical, and merging the ranks' hardware figures into one step event (the largest
memory figure at the top level, every rank's figures under ``per_rank``).
The functions below that take a :class:`RankGroup` are collectives under DDP (every rank calls them at
the same point) and give the single-process answer alone.
Not for: the process group and collectives (``ranks``), launching (``ddp_launch``), or the loop.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from typing import Any

import torch

from openlora.trainer.config import TrainConfig
from openlora.trainer.ranks import RankGroup, timed_allreduce_hook


class LossModule(torch.nn.Module):
    """A module whose forward is the summed labelled-token loss of a collated batch."""

    def __init__(self, model: torch.nn.Module, loss: Callable[[dict[str, Any]], torch.Tensor]) -> None:
        super().__init__()
        self.model = model
        self._loss = loss

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        return self._loss(batch)


def wrap(
    model: torch.nn.Module,
    loss: Callable[[dict[str, Any]], torch.Tensor],
    ranks: RankGroup,
    device: torch.device,
    trainable: list[torch.nn.Parameter],
) -> torch.nn.parallel.DistributedDataParallel:
    """DDP over the loss; rank 0's LoRA weights are broadcast first (they are seeded the same anyway)."""
    ranks.broadcast_tensors(list(trainable))
    ddp = torch.nn.parallel.DistributedDataParallel(
        LossModule(model, loss),
        device_ids=[device.index] if device.type == "cuda" else None,
        forward_sync_buffers=False,  # no buffer changes while training a LoRA; saves a broadcast a step
        init_sync=False,  # the frozen base is read from the same files on every rank
    )
    ddp.register_comm_hook(None, timed_allreduce_hook(ranks))
    return ddp


def sync_context(ddp: Any, last: bool) -> contextlib.AbstractContextManager[Any]:
    """No gradient all-reduce until the last micro-batch of an accumulated step."""
    if ddp is None or last:
        return contextlib.nullcontext()
    return ddp.no_sync()


def weights_digest(trainable: list[torch.nn.Parameter]) -> str:
    """SHA-256 of the trainable weights' bytes, in order (equal digests: identical replicas)."""
    digest = hashlib.sha256()
    for param in trainable:
        digest.update(param.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def merge_rank_figures(per_rank: list[dict[str, Any]]) -> dict[str, Any]:
    """One step event's hardware fields: each figure's largest value over ranks, plus ``per_rank``."""
    merged: dict[str, Any] = {}
    for figures in per_rank:
        for key, value in figures.items():
            if key == "lr" or not isinstance(value, int | float):
                continue
            merged[key] = max(merged.get(key, value), value)
    merged["per_rank"] = per_rank
    return merged


def start_figures(ranks: RankGroup, config: TrainConfig) -> dict[str, Any]:
    """``run_start`` fields under DDP: the ranks, their pids and the global batch ({} alone)."""
    if not ranks.distributed:
        return {}
    return {
        "ranks": ranks.world,
        "rank_pids": ranks.gather(os.getpid()),
        "global_batch": config.batch_size * config.grad_accum * ranks.world,
    }


def hardware_figures(ranks: RankGroup, figures: dict[str, Any], lr: float) -> dict[str, Any]:
    """A step event's hardware ``figures``; under DDP every rank's, with the seconds each spent in
    collectives since the last logged step (``comm_s``: the slowest rank's at the top level)."""
    if not ranks.distributed:
        return figures
    comm_s = round(ranks.take_comm_seconds(), 4)
    return merge_rank_figures(ranks.gather({**figures, "lr": lr, "comm_s": comm_s}))


def replica_check(ranks: RankGroup, trainable: list[torch.nn.Parameter]) -> dict[str, Any]:
    """``completed`` fields under DDP: each rank's digest of its LoRA weights and whether all are equal."""
    if not ranks.distributed:
        return {}
    digests = ranks.gather(weights_digest(trainable))
    return {"replica_digests": digests, "replicas_identical": len(set(digests)) == 1}
