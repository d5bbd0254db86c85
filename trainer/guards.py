"""Run guards that are not about the loss: the CPU memory budget and stop signals.

``memory_limit`` caps the process address space with RLIMIT_AS so an over-large batch fails with
an allocation error (classified as ``oom``) instead of swapping the machine to death, and so OOM can
be produced on a CPU box. RLIMIT_AS counts reserved address space, not memory used, and glibc
reserves 64 MiB for each extra malloc arena a new thread gets; under a limit, malloc is kept to the
arenas it already has (``mallopt(M_ARENA_MAX)``), so the budget measures allocations, not
reservations, and a batch the memory probe found to fit does not fail later because a thread
started. ``StopFlag`` turns SIGTERM/SIGINT into a request the training loop sees
between steps, so it can save a checkpoint before it ends. Loss guards (NaN, divergence) live in
the recipe, next to the loss.
"""

from __future__ import annotations

import ctypes
import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import psutil

_M_ARENA_MAX = -8  # glibc's mallopt parameter


def _cap_malloc_arenas() -> None:
    """Stop glibc creating new malloc arenas (each reserves 64 MiB of address space); no-op elsewhere."""
    try:
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1)  # the process's own symbols: libc's on Linux
    except (OSError, AttributeError):
        return


@contextmanager
def memory_limit(extra_gib: float | None) -> Iterator[int | None]:
    """Limit the address space to what is mapped now plus ``extra_gib``; restore it on exit."""
    if extra_gib is None:
        yield None
        return
    _cap_malloc_arenas()
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
