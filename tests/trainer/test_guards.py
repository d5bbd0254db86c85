"""Guards and live control: NaN, out-of-memory under memory_limit_gb, divergence, live lr patches, holds."""

from __future__ import annotations

import json
import threading
import time

from openlora.trainer import hold
from openlora.trainer.control import ControlPatch, write_patch
from openlora.trainer.result import RunStatus
from openlora.trainer.rundir import RunDir, read_events
from tests.conftest import make_run


def test_absurd_learning_rate_ends_with_status_nan(tiny_llama, kv_dataset, tmp_path, run_in_process):
    # AdamW's decoupled decay multiplies weights by (1 - lr * wd) each step: with lr=100 that is -9,
    # so the LoRA weights overflow within a few dozen steps, as they do in real runs with absurd lr.
    run = make_run(
        tmp_path / "run",
        base_model=str(tiny_llama),
        dataset=str(kv_dataset),
        max_steps=200,
        learning_rate=100.0,
        weight_decay=0.1,
        diverge_patience=100_000,
    )
    result = run_in_process(run)
    assert result.status == RunStatus.NAN, result.message
    assert 0 < result.step < 200
    assert f"step {result.step}" in result.message
    assert result.evidence["lr"] == 100.0 and result.evidence["last_finite_loss"] > 0
    steps = [e for e in read_events(RunDir(run).metrics) if e["event"] == "step"]
    assert steps[-1]["step"] == result.step
    assert steps[-1]["loss"] is None and steps[-1]["loss_nonfinite"] == "nan"
    saved = json.loads(RunDir(run).result.read_text())
    assert saved["status"] == "nan" and saved["evidence"]["loss"] == "nan"


def test_loss_far_above_its_minimum_ends_with_status_diverged(
    tiny_llama, kv_dataset, tmp_path, run_in_process
):
    settings = {
        "base_model": str(tiny_llama),
        "dataset": str(kv_dataset),
        "diverge_factor": 1.1,
        "diverge_patience": 3,
        "save_every": 40,
    }
    run = make_run(tmp_path / "run", max_steps=40, **settings)
    assert run_in_process(run).status == RunStatus.COMPLETED
    # Continue the same run with the lr pushed far too high: the loss climbs back toward chance.
    make_run(run, max_steps=200, **settings)
    write_patch(RunDir(run).control, ControlPatch(patch_id="too-hot", learning_rate=50.0))
    result = run_in_process(run)
    assert result.status == RunStatus.DIVERGED, result.message
    assert 40 < result.step < 200
    assert result.evidence["loss"] > 1.1 * result.evidence["running_min"]
    assert result.checkpoint and result.checkpoint.endswith("step-00000040")


def test_small_memory_limit_ends_with_status_oom(tiny_llama, tmp_path, run_in_process):
    words = " ".join(f"word{i % 97} and token{i % 89}" for i in range(20_000))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(words, encoding="utf-8")
    run = make_run(
        tmp_path / "run",
        base_model=str(tiny_llama),
        dataset=str(corpus),
        max_steps=5,
        batch_size=64,
        max_seq_len=512,
        memory_limit_gb=0.01,
    )
    result = run_in_process(run)
    assert result.status == RunStatus.OOM, result.message
    assert result.evidence["batch_size"] == 64
    assert result.evidence["max_seq_len"] == 512
    assert result.evidence["memory_limit_gb"] == 0.01
    assert result.evidence["batch_shape"] == [64, 512]
    assert not RunDir(run).adapter.exists()


def test_generous_memory_limit_does_not_get_in_the_way(tiny_llama, kv_dataset, tmp_path, run_in_process):
    run = make_run(
        tmp_path / "run",
        base_model=str(tiny_llama),
        dataset=str(kv_dataset),
        max_steps=5,
        memory_limit_gb=2.0,
    )
    assert run_in_process(run).status == RunStatus.COMPLETED


def test_live_lr_patch_shows_in_next_step(tiny_llama, kv_dataset, tmp_path, run_in_process):
    run = make_run(
        tmp_path / "run",
        base_model=str(tiny_llama),
        dataset=str(kv_dataset),
        max_steps=300,
        learning_rate=1e-3,
        save_every=100_000,
        eval_every=100_000,
    )
    rundir = RunDir(run)
    patched: dict[str, int] = {}

    def patch_once_running() -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            steps = [e for e in read_events(rundir.metrics) if e["event"] == "step"]
            if len(steps) >= 5:
                write_patch(
                    rundir.control, ControlPatch(patch_id="p1", learning_rate=2.5e-3, max_grad_norm=0.5)
                )
                patched["after_step"] = steps[-1]["step"]
                return
            time.sleep(0.002)

    worker = threading.Thread(target=patch_once_running)
    worker.start()
    result = run_in_process(run)
    worker.join()
    assert result.status == RunStatus.COMPLETED

    events = read_events(rundir.metrics)
    applied = [e for e in events if e["event"] == "patch_applied"]
    assert len(applied) == 1 and applied[0]["changes"] == {"learning_rate": 2.5e-3, "max_grad_norm": 0.5}
    applied_at = applied[0]["step"]
    lrs = {e["step"]: e["lr"] for e in events if e["event"] == "step"}
    assert lrs[applied_at] == 1e-3
    assert lrs[applied_at + 1] == 2.5e-3  # the very next step, and it sticks
    assert lrs[max(lrs)] == 2.5e-3


def test_invalid_patch_is_rejected_with_reason(tiny_llama, kv_dataset, tmp_path, run_in_process):
    run = make_run(tmp_path / "run", base_model=str(tiny_llama), dataset=str(kv_dataset), max_steps=4)
    rundir = RunDir(run)
    rundir.control.write_text(json.dumps({"patch_id": "bad", "learning_rate": -1, "batch_size": 9}))
    assert run_in_process(run).status == RunStatus.COMPLETED
    rejected = [e for e in read_events(rundir.metrics) if e["event"] == "patch_rejected"]
    assert len(rejected) == 1
    assert "learning_rate" in rejected[0]["reason"] and "batch_size" in rejected[0]["reason"]
    lrs = {e["lr"] for e in read_events(rundir.metrics) if e["event"] == "step"}
    assert lrs == {1e-2}


def test_a_hold_pauses_the_loop_between_steps_and_the_patch_written_meanwhile_lands_next(
    tiny_llama, kv_dataset, tmp_path, run_in_process
):
    run = make_run(
        tmp_path / "run",
        base_model=str(tiny_llama),
        dataset=str(kv_dataset),
        max_steps=200,
        save_every=100_000,
        eval_every=100_000,
    )
    rundir = RunDir(run)
    seen: dict[str, int] = {}

    def decide_while_held() -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            steps = [e for e in read_events(rundir.metrics) if e["event"] == "step"]
            if len(steps) >= 3:
                seen["hold_id"] = hold.request_hold(rundir.hold, 30, "deciding")
                time.sleep(0.6)  # the supervisor's decision
                seen["during"] = max(e["step"] for e in read_events(rundir.metrics) if e["event"] == "step")
                time.sleep(0.6)
                seen["after"] = max(e["step"] for e in read_events(rundir.metrics) if e["event"] == "step")
                write_patch(rundir.control, ControlPatch(patch_id="p1", learning_rate=2e-3))
                hold.release_hold(rundir.hold)
                return
            time.sleep(0.002)

    worker = threading.Thread(target=decide_while_held)
    worker.start()
    result = run_in_process(run)
    worker.join()
    assert result.status == RunStatus.COMPLETED
    events = read_events(rundir.metrics)
    (holding,) = [e for e in events if e["event"] == "holding"]  # the agent's cue that no step runs
    (held,) = [e for e in events if e["event"] == "held"]
    assert holding["hold_id"] == held["hold_id"] == seen["hold_id"] and holding["step"] == held["step"]
    assert seen["during"] == seen["after"] == held["step"]  # no step ran while held
    assert held["seconds"] >= 1.0
    (applied,) = [e for e in events if e["event"] == "patch_applied"]
    assert applied["step"] == held["step"]  # read right after the hold, before the next step


def test_a_hold_never_outlasts_its_deadline_nor_a_stop(tmp_path):
    path = tmp_path / "hold.json"
    assert hold.wait_while_held(path, lambda: False) == 0.0  # none asked
    path.write_text("not json")
    assert hold.wait_while_held(path, lambda: False) == 0.0  # unreadable: no hold
    hold.request_hold(path, 0.3, "deciding")
    assert 0.25 <= hold.wait_while_held(path, lambda: False) < 2.0  # the supervisor died: its deadline
    hold.request_hold(path, 10_000, "deciding")
    assert json.loads(path.read_text())["until"] <= time.time() + hold.MAX_HOLD_S  # capped when written
    assert hold.wait_while_held(path, lambda: True) < 0.5  # a stop signal ends the wait
