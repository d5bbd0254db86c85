"""The CUDA path: autocast, 4-bit QLoRA through bitsandbytes, NVML telemetry. Skipped without CUDA."""

from __future__ import annotations

import pytest
import torch

from openlora.trainer.result import RunStatus
from openlora.trainer.rundir import RunDir, read_events
from tests.conftest import make_run

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _steps(run) -> list[dict]:
    return [e for e in read_events(RunDir(run).metrics) if e["event"] == "step"]


def test_cuda_autocast_trains_and_reports_gpu_figures(tiny_llama, kv_dataset, tmp_path, run_in_process):
    run = make_run(
        tmp_path / "run", base_model=str(tiny_llama), dataset=str(kv_dataset), max_steps=20, device="cuda"
    )
    result = run_in_process(run)
    assert result.status == RunStatus.COMPLETED, result.message
    start = next(e for e in read_events(RunDir(run).metrics) if e["event"] == "run_start")
    assert start["device"].startswith("cuda") and start["precision"] in ("bfloat16", "float16")
    step = _steps(run)[-1]
    assert step["cuda_mem_allocated_mb"] > 0
    for field in ("gpu_util_pct", "gpu_mem_used_mb", "gpu_temp_c", "gpu_power_w"):
        assert field in step, field
    losses = [e["loss"] for e in _steps(run)]
    assert sum(losses[-5:]) < sum(losses[:5])


def test_qlora_4bit_trains(tiny_llama, kv_dataset, tmp_path, run_in_process):
    pytest.importorskip("bitsandbytes")
    run = make_run(
        tmp_path / "run",
        base_model=str(tiny_llama),
        dataset=str(kv_dataset),
        max_steps=20,
        device="cuda",
        load_in_4bit=True,
        learning_rate=1e-2,
    )
    result = run_in_process(run)
    assert result.status == RunStatus.COMPLETED, result.message
    losses = [e["loss"] for e in _steps(run)]
    assert sum(losses[-5:]) < sum(losses[:5])


def test_fp16_autocast_with_grad_scaler(tiny_llama, kv_dataset, tmp_path, run_in_process):
    run = make_run(
        tmp_path / "run",
        base_model=str(tiny_llama),
        dataset=str(kv_dataset),
        max_steps=10,
        device="cuda",
        precision="fp16",
    )
    assert run_in_process(run).status == RunStatus.COMPLETED
