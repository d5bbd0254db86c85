"""The processes of one run: which rank this is, and the few collectives the recipe needs.

For: reading the rank and world size that ``torchrun`` sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``), starting and ending the process group (gloo on CPU, nccl on CUDA, with a timeout
so a stuck peer cannot hang a collective for ever), and the collectives the recipe calls every
step — summing figures, agreeing on a flag, broadcasting rank 0's patch, gathering per-rank
figures — each a no-op in a single process, so the recipe calls them unconditionally.
Also the time spent in collectives (``comm_seconds``), including DDP's gradient all-reduce when
:func:`timed_allreduce_hook` is registered. Not for: launching the processes (``ddp_launch``
runs torchrun) or deciding what to reduce (the recipe).
"""

import ctypes
import datetime
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import torch

_PR_SET_PDEATHSIG = 1  # prctl option: the signal this process gets when its parent dies


@dataclass
class RankGroup:
    """This process's place in the run; ``world == 1`` is a plain single-process run."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    comm_seconds: float = field(default=0.0, repr=False)

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ------------------------------------------------------------------ lifecycle
    def start(self, use_cuda: bool, timeout_s: float) -> None:
        """Join the process group (a no-op alone); on CUDA this rank computes on ``cuda:LOCAL_RANK``."""
        if not self.distributed:
            return
        import torch.distributed as dist

        die_with_parent()
        if use_cuda:
            torch.cuda.set_device(self.local_rank)
        dist.init_process_group(
            backend="nccl" if use_cuda else "gloo", timeout=datetime.timedelta(seconds=timeout_s)
        )

    def stop(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()

    # ---------------------------------------------------------------- collectives
    def sum(self, values: list[float], device: torch.device) -> list[float]:
        """Element-wise sum of ``values`` over ranks (a NaN anywhere is a NaN everywhere)."""
        if not self.distributed:
            return list(values)
        import torch.distributed as dist

        began = time.perf_counter()
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        self.comm_seconds += time.perf_counter() - began
        return tensor.tolist()

    def any(self, flag: bool, device: torch.device) -> bool:
        """Whether ``flag`` holds on any rank."""
        return self.sum([1.0 if flag else 0.0], device)[0] > 0

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (picklable, small: a patch)."""
        if not self.distributed:
            return value
        import torch.distributed as dist

        began = time.perf_counter()
        box = [value if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        self.comm_seconds += time.perf_counter() - began
        return box[0]

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order (picklable, small: figures, RNG states)."""
        if not self.distributed:
            return [value]
        import torch.distributed as dist

        began = time.perf_counter()
        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, value)
        self.comm_seconds += time.perf_counter() - began
        return out

    def broadcast_tensors(self, tensors: list[torch.Tensor]) -> None:
        """Overwrite ``tensors`` with rank 0's (the LoRA weights before training)."""
        if not self.distributed:
            return
        import torch.distributed as dist

        for tensor in tensors:
            dist.broadcast(tensor.data, src=0)

    def take_comm_seconds(self) -> float:
        """Seconds spent communicating since the last call."""
        seconds, self.comm_seconds = self.comm_seconds, 0.0
        return seconds


def from_env(env: dict[str, str] | None = None) -> RankGroup:
    """The rank group torchrun describes in the environment (a single process when it does not)."""
    env = dict(os.environ if env is None else env)
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise RuntimeError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (torchrun sets them)") from None
    if world < 1 or not 0 <= rank < world:
        raise RuntimeError(f"rank {rank} is not within WORLD_SIZE {world}")
    return RankGroup(rank=rank, world=world, local_rank=local)


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this rank when torchrun dies: torchrun puts each rank in a session of its
    own, so killing the attempt's process group would otherwise leave the ranks training."""
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
    except (OSError, AttributeError):
        return


def timed_allreduce_hook(group: RankGroup) -> Any:
    """A DDP communication hook: the default average all-reduce, its wall time (launch to completion,
    overlapping the backward pass) added to ``group.comm_seconds``."""
    import torch.distributed as dist

    # Real (not postponed) annotations: DDP checks them. Hence no ``from __future__ import annotations``.
    def hook(_state: object, bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
        began = time.perf_counter()
        buffer = bucket.buffer().div_(group.world)
        future = dist.all_reduce(buffer, async_op=True).get_future()

        def done(fut: torch.futures.Future[Any]) -> torch.Tensor:
            group.comm_seconds += time.perf_counter() - began
            return fut.value()[0]

        return future.then(done)

    return hook
