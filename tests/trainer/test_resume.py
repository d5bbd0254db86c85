"""Crash safety: SIGKILL and resume reproduce an uninterrupted run; torn checkpoints are skipped."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from safetensors.torch import load_file

from openlora.trainer import checkpoints
from openlora.trainer.result import RunResult, RunStatus
from openlora.trainer.rundir import RunDir, loss_trace, read_events
from tests.conftest import make_run, trainer_command

SETTINGS = {"max_steps": 120, "save_every": 20, "lora_dropout": 0.1, "keep_checkpoints": 3, "eval_every": 25}


def _adapter(run: Path) -> dict:
    return load_file(str(RunDir(run).adapter / "adapter_model.safetensors"))


def _wait_for_checkpoint(run: Path, step: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        events = read_events(RunDir(run).metrics)
        if any(e["event"] == "checkpoint" and e["step"] >= step for e in events):
            return
        assert proc.poll() is None, "trainer ended before it could be killed"
        time.sleep(0.005)
    raise AssertionError("no checkpoint appeared")


def test_sigkill_then_resume_matches_uninterrupted_run(tiny_llama, kv_dataset, tmp_path, run_in_process):
    """The killed run is a real process; the uninterrupted reference and the resume run in this one
    (the same code from the same run folder; a fresh interpreter for each would only add imports)."""
    settings = {"base_model": str(tiny_llama), "dataset": str(kv_dataset), **SETTINGS}
    reference = make_run(tmp_path / "reference", **settings)
    assert run_in_process(reference).status == RunStatus.COMPLETED

    crashed = make_run(tmp_path / "crashed", **settings)
    proc = subprocess.Popen(trainer_command(crashed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_checkpoint(crashed, 40, proc)
        proc.kill()
    finally:
        proc.wait(timeout=60)
    assert not RunDir(crashed).result.exists(), "SIGKILL leaves no result.json"
    killed_at = max(loss_trace(RunDir(crashed).metrics))
    assert killed_at < SETTINGS["max_steps"]

    resumed = run_in_process(crashed)
    assert resumed.status == RunStatus.COMPLETED, resumed.message
    events = read_events(RunDir(crashed).metrics)
    resumed_from = [e["step"] for e in events if e["event"] == "resumed"]
    assert resumed_from and resumed_from[0] >= 40

    expected, actual = _adapter(reference), _adapter(crashed)
    assert expected.keys() == actual.keys()
    for name in expected:
        assert (expected[name] - actual[name]).abs().max().item() <= 1e-6, name
    assert loss_trace(RunDir(crashed).metrics) == loss_trace(RunDir(reference).metrics)


def test_torn_newest_checkpoint_falls_back_to_previous(tiny_llama, kv_dataset, tmp_path, run_in_process):
    run = make_run(
        tmp_path / "run",
        base_model=str(tiny_llama),
        dataset=str(kv_dataset),
        max_steps=30,
        save_every=10,
        keep_checkpoints=5,
    )
    assert run_in_process(run).status == RunStatus.COMPLETED
    found = checkpoints.list_checkpoints(RunDir(run).checkpoints)
    assert [c.step for c in found] == [10, 20, 30]
    # Tear the newest: truncate its weights, as a crash mid-copy would.
    weights = found[-1].path / "adapter" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    # And make the run longer so a resume has work to do.
    spec = RunDir(run).spec
    spec.write_text(spec.read_text().replace('"max_steps": 30', '"max_steps": 35'))

    result = run_in_process(run)

    assert result.status == RunStatus.COMPLETED
    events = read_events(RunDir(run).metrics)
    skipped = [e for e in events if e["event"] == "checkpoint_skipped"]
    assert skipped and skipped[0]["step"] == 30 and "hash" in skipped[0]["reason"]
    assert [e["step"] for e in events if e["event"] == "resumed"] == [20]
    assert max(loss_trace(RunDir(run).metrics)) == 35
    assert RunResult.read(RunDir(run).result).step == 35


def test_sigterm_commits_a_checkpoint_and_reports_killed(tiny_llama, kv_dataset, tmp_path):
    run = make_run(
        tmp_path / "run",
        base_model=str(tiny_llama),
        dataset=str(kv_dataset),
        max_steps=100_000,
        save_every=100_000,
        eval_every=100_000,
    )
    proc = subprocess.Popen(trainer_command(run), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not any(e["event"] == "step" for e in read_events(RunDir(run).metrics)):
            assert time.time() < deadline and proc.poll() is None
            time.sleep(0.01)
        proc.terminate()
        assert proc.wait(timeout=60) == 1
    finally:
        proc.kill()
    result = RunResult.read(RunDir(run).result)
    assert result.status == RunStatus.KILLED
    assert result.evidence["signal"] == "SIGTERM"
    newest = checkpoints.newest_complete(RunDir(run).checkpoints)
    assert newest is not None and newest.step == result.step and str(newest.path) == result.checkpoint
    assert checkpoints.verify_checkpoint(newest.path) is None
