"""Run guards that are not about the loss: the CPU memory budget and stop signals.

``memory_limit`` caps the process address space with RLIMIT_AS so an over-large batch fails with
an allocation error (classified as ``oom``) instead of swapping the machine to death, and so OOM can
be produced on a CPU box. ``StopFlag`` turns SIGTERM/SIGINT into a request the training loop sees
between steps, so it can save a checkpoint before it ends. Loss guards (NaN, divergence) live in
the recipe, next to the loss.
"""

from __future__ import annotations

import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import psutil


@contextmanager
def memory_limit(extra_gib: float | None) -> Iterator[int | None]:
    """Limit the address space to what is mapped now plus ``extra_gib``; restore it on exit."""
    if extra_gib is None:
        yield None
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = psutil.Process().memory_info().vms + int(extra_gib * 2**30)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


class StopFlag:
    """Set by SIGTERM or SIGINT; the loop checks it between steps. A second signal is honoured too."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, object] = {}

    def __bool__(self) -> bool:
        return self.signal_name is not None

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(signum).name

    def install(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()
