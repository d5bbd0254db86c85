"""One run on two processes: torchrun with gloo on this CPU, a tiny llama, the real launcher.

Each launch is ``python -m openlora.trainer.ddp_launch RUN_DIR`` (what ``launch_run`` starts), which
runs torchrun with two ranks. Checked: the ranks train like one process with the same global batch,
their replicas stay identical, a live patch lands on the same step on both, SIGTERM checkpoints once,
SIGKILL then resume gives the uninterrupted weights, and a rank's death ends the run within a bound.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from openlora.trainer.result import RunResult, RunStatus
from openlora.trainer.rundir import RunDir, loss_trace, read_events, write_json_atomic
from tests.conftest import make_run

pytestmark = pytest.mark.slow

SETTINGS = {"max_steps": 60, "save_every": 20, "eval_every": 20, "keep_checkpoints": 3}
TORCHRUN = {"kind": "torchrun", "nproc_per_node": 2}
PATCH = {"patch_id": "before-start", "learning_rate": 5e-3}
RANK_DEATH_BOUND_S = 40.0  # torchrun's monitor notices at once; the peers stop within its 30 s grace


def _launch(run: Path) -> subprocess.Popen:
    env = {**os.environ, "TQDM_DISABLE": "1"}
    with (run / "launch.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "openlora.trainer.ddp_launch", str(run)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def _launch_and_wait(run: Path, timeout: float = 240) -> RunResult:
    proc = _launch(run)
    proc.wait(timeout=timeout)
    return RunResult.read(RunDir(run).result)


def _wait_for(run: Path, found: Callable[[list[dict[str, Any]]], bool], proc: subprocess.Popen) -> list[dict]:
    deadline = time.time() + 180
    while time.time() < deadline:
        events = read_events(RunDir(run).metrics)
        if found(events):
            return events
        assert proc.poll() is None, (run / "launch.log").read_text()[-2000:]
        time.sleep(0.005)
    raise AssertionError("the awaited event never came")


def _adapter(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(RunDir(run).adapter / "adapter_model.safetensors"))


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def ddp_run(tiny_llama, kv_dataset, tmp_path_factory) -> Path:
    """An uninterrupted two-rank run (batch 2 a rank) with a patch waiting before it starts."""
    run = make_run(
        tmp_path_factory.mktemp("ddp") / "run",
        base_model=str(tiny_llama),
        dataset=str(kv_dataset),
        batch_size=2,
        launcher=TORCHRUN,
        **SETTINGS,
    )
    write_json_atomic(RunDir(run).control, PATCH)
    result = _launch_and_wait(run)
    assert result.status == RunStatus.COMPLETED, result.message
    return run


def test_two_ranks_train_like_one_process_with_the_global_batch(ddp_run, tiny_llama, kv_dataset, tmp_path):
    single = make_run(
        tmp_path / "single", base_model=str(tiny_llama), dataset=str(kv_dataset), batch_size=4, **SETTINGS
    )
    write_json_atomic(RunDir(single).control, PATCH)
    from openlora.trainer.main import run_training

    assert run_training(single).status == RunStatus.COMPLETED

    expected, actual = loss_trace(RunDir(single).metrics), loss_trace(RunDir(ddp_run).metrics)
    assert list(actual) == list(range(1, 61))
    assert actual == pytest.approx(expected, rel=1e-5, abs=1e-6)  # float sums in another order
    events = read_events(RunDir(ddp_run).metrics)
    start = next(e for e in events if e["event"] == "run_start")
    assert start["ranks"] == 2 and start["global_batch"] == 4 and len(set(start["rank_pids"])) == 2
    done = next(e for e in events if e["event"] == "completed")
    assert done["replicas_identical"] is True and len(done["replica_digests"]) == 2
    steps = [e for e in events if e["event"] == "step"]
    assert all(len(e["per_rank"]) == 2 and e["comm_s"] >= 0 for e in steps)
    assert all(e["tokens"] == sum_tokens for e, sum_tokens in zip(steps, _tokens(single), strict=True))
    # the patch waiting at start is applied after step 1 on both ranks
    assert [e["step"] for e in events if e["event"] == "patch_applied"] == [1]
    assert all(r["lr"] == PATCH["learning_rate"] for e in steps if e["step"] >= 2 for r in e["per_rank"])
    for name, weights in _adapter(single).items():
        # Adam magnifies float-order differences of near-zero gradients (measured: at most 1.1e-4 after
        # 60 steps, a fiftieth of one step's update)
        torch.testing.assert_close(_adapter(ddp_run)[name], weights, rtol=1e-2, atol=5e-4)
    assert not list(ddp_run.glob("rank-*.result.json")), "rank 1 writes nothing when it completes"


def _tokens(run: Path) -> list[int]:
    return [e["tokens"] for e in read_events(RunDir(run).metrics) if e["event"] == "step"]


def test_sigkill_after_a_checkpoint_then_resume_gives_the_uninterrupted_weights(ddp_run, tmp_path):
    spec = json.loads(RunDir(ddp_run).spec.read_text())
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    write_json_atomic(RunDir(crashed).spec, spec)
    write_json_atomic(RunDir(crashed).control, PATCH)
    proc = _launch(crashed)
    try:
        events = _wait_for(crashed, lambda ev: any(e["event"] == "checkpoint" for e in ev), proc)
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher's session; the ranks die with torchrun
    finally:
        proc.wait(timeout=60)
    pids = next(e for e in events if e["event"] == "run_start")["rank_pids"]
    deadline = time.time() + 10
    while any(_alive(pid) for pid in pids) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids), "a rank outlived torchrun"
    assert not RunDir(crashed).result.exists()
    assert max(loss_trace(RunDir(crashed).metrics)) < SETTINGS["max_steps"]

    result = _launch_and_wait(crashed)
    assert result.status == RunStatus.COMPLETED, result.message
    resumed = [e["step"] for e in read_events(RunDir(crashed).metrics) if e["event"] == "resumed"]
    assert resumed and resumed[0] >= 20
    expected, actual = _adapter(ddp_run), _adapter(crashed)
    assert expected.keys() == actual.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=0, atol=1e-7)


def test_live_patch_sigterm_and_a_dead_rank(tiny_llama, kv_dataset, tmp_path):
    """A patch written mid-run lands on the same step on both ranks; SIGTERM commits one checkpoint;
    the resumed run restores both ranks; SIGKILL of rank 1 then ends it, naming the rank, in bounds."""
    run = make_run(
        tmp_path / "long",
        base_model=str(tiny_llama),
        dataset=str(kv_dataset),
        batch_size=2,
        launcher=TORCHRUN,
        max_steps=5000,
        save_every=1000,
        eval_every=1000,
    )
    proc = _launch(run)
    _wait_for(run, lambda ev: any(e["event"] == "step" and e["step"] >= 3 for e in ev), proc)
    write_json_atomic(RunDir(run).control, {"patch_id": "mid-run", "learning_rate": 3e-3})
    events = _wait_for(run, lambda ev: any(e["event"] == "patch_applied" for e in ev), proc)
    applied = next(e["step"] for e in events if e["event"] == "patch_applied")
    events = _wait_for(
        run, lambda ev: any(e["event"] == "step" and e["step"] > applied + 1 for e in ev), proc
    )
    by_step = {e["step"]: [r["lr"] for r in e["per_rank"]] for e in events if e["event"] == "step"}
    assert by_step[applied] == [1e-2, 1e-2] and by_step[applied + 1] == [3e-3, 3e-3]

    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(timeout=60)
    stopped = RunResult.read(RunDir(run).result)
    assert stopped.status == RunStatus.KILLED, stopped.message
    saved = [e["step"] for e in read_events(RunDir(run).metrics) if e["event"] == "checkpoint"]
    assert saved == [stopped.step], "SIGTERM commits exactly one checkpoint, at the step the run stopped"

    proc = _launch(run)
    events = _wait_for(
        run, lambda ev: any(e["event"] == "step" and e["step"] > stopped.step + 2 for e in ev), proc
    )
    pids = [e for e in events if e["event"] == "run_start"][-1]["rank_pids"]
    after = [e for e in events if e["event"] == "step" and e["step"] > stopped.step]
    assert all(r["lr"] == 3e-3 for e in after for r in e["per_rank"]), "both ranks resumed the patched lr"
    killed_at = time.monotonic()
    os.kill(pids[1], signal.SIGKILL)
    proc.wait(timeout=RANK_DEATH_BOUND_S)
    took = time.monotonic() - killed_at
    assert took < RANK_DEATH_BOUND_S
    result = RunResult.read(RunDir(run).result)
    assert result.status == RunStatus.ERROR
    assert result.evidence["kind"] == "rank_died" and result.evidence["rank"] == 1
    assert "rank 1 was killed by SIGKILL" in result.message
    assert result.checkpoint is not None and Path(result.checkpoint).name == f"step-{stopped.step:08d}"
    assert not any(_alive(pid) for pid in pids)
