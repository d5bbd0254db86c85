"""Telemetry: the ``metrics.jsonl`` writer and the hardware figures that go into step events.

Each event is one JSON object on one line, flushed and fsynced as it is written, so a reader (the
agent, the Prometheus exporter, the TUI) sees every finished line even if the trainer is killed.
GPU figures come from torch.cuda and NVML (nvidia-ml-py) when a GPU is present; process RSS is
always reported. This module does not decide anything from the figures.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import psutil


class MetricsWriter:
    """Append-only JSONL event log; opened lazily so a run that fails early leaves no file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: a writer that keeps nothing (the ranks of a DDP run other than 0)
        self._handle: Any = None

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"event": event, "time": round(time.time(), 3), **_finite_or_none(fields)}
        if self.path is None:
            return record
        if self._handle is None:
            self._handle = self.path.open("a", encoding="utf-8")
        self._handle.write(json.dumps(record, allow_nan=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        return record

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _finite_or_none(fields: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN: non-finite floats become null plus a string marker beside them."""
    clean: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, float) and not math.isfinite(value):
            clean[key] = None
            clean[f"{key}_nonfinite"] = str(value)
        else:
            clean[key] = value
    return clean


class HardwareProbe:
    """Reads process and GPU figures; NVML is initialised once and only when CUDA is in use."""

    def __init__(self, use_cuda: bool) -> None:
        self._process = psutil.Process()
        self._use_cuda = use_cuda
        self._nvml_handle: Any = None
        if use_cuda:
            self._nvml_handle = _open_nvml()

    def sample(self) -> dict[str, Any]:
        figures: dict[str, Any] = {"rss_mb": round(self._process.memory_info().rss / 2**20, 1)}
        if not self._use_cuda:
            return figures
        import torch

        figures["cuda_mem_allocated_mb"] = round(torch.cuda.memory_allocated() / 2**20, 1)
        figures["cuda_mem_reserved_mb"] = round(torch.cuda.memory_reserved() / 2**20, 1)
        figures["cuda_max_mem_allocated_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        if self._nvml_handle is not None:
            figures.update(_nvml_figures(self._nvml_handle))
        return figures


def _open_nvml() -> Any:
    try:
        import pynvml
        import torch

        pynvml.nvmlInit()
        index = torch.cuda.current_device()
        return pynvml.nvmlDeviceGetHandleByIndex(index)
    except Exception:  # NVML missing or driver mismatch: GPU figures from torch only
        return None


def _nvml_figures(handle: Any) -> dict[str, Any]:
    import pynvml

    figures: dict[str, Any] = {}
    try:
        util = pynvml.nvmlDeviceGetUtilizationRates(handle)
        mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
        figures["gpu_util_pct"] = float(util.gpu)
        figures["gpu_mem_used_mb"] = round(mem.used / 2**20, 1)
        figures["gpu_mem_total_mb"] = round(mem.total / 2**20, 1)
        figures["gpu_temp_c"] = float(pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU))
        figures["gpu_power_w"] = pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
    except Exception:
        pass
    return figures
