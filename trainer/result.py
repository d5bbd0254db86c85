"""How a training run ended, as data: a status enum and the record written to ``result.json``.

The agent branches on ``status`` and reads ``evidence``; it never parses a traceback. This module
also classifies exceptions (out-of-memory in its CPU and CUDA forms) into statuses.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from openlora.trainer.rundir import read_json, write_json_atomic


class RunStatus(StrEnum):
    """Final states of a training run."""

    COMPLETED = "completed"
    NAN = "nan"
    DIVERGED = "diverged"
    OOM = "oom"
    DATA_ERROR = "data_error"
    KILLED = "killed"
    ERROR = "error"


@dataclass
class RunResult:
    """The content of ``result.json``."""

    status: RunStatus
    message: str
    step: int = 0
    evidence: dict[str, Any] = field(default_factory=dict)
    final_metrics: dict[str, float] = field(default_factory=dict)
    adapter_dir: str | None = None
    checkpoint: str | None = None
    ended_at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    def write(self, path: Path) -> None:
        write_json_atomic(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> RunResult:
        data = read_json(path)
        data["status"] = RunStatus(data["status"])
        return cls(**data)


_CPU_OOM_MARKERS = (
    "can't allocate memory",
    "cannot allocate memory",
    "not enough memory",
    "out of memory",
    "std::bad_alloc",
)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA OOM, Python MemoryError and torch's CPU allocator failures."""
    if isinstance(exc, MemoryError):
        return True
    try:
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return True
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(marker in text for marker in _CPU_OOM_MARKERS)
