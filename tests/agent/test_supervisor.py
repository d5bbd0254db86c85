"""The supervisor end to end: tiny base models, the real embedded advisor, real memory."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from openlora.agent.runner import run_goal
from openlora.memory.incidents import IncidentMemory
from openlora.memory.records import Outcome
from openlora.memory.registry import RunRegistry
from openlora.trainer.rundir import read_events, read_json
from tests.agent.conftest import env_with, write_goal

CLI = str(Path(sys.executable).parent / "openlora-agent")


def _attempts(root: Path) -> list[Path]:
    return sorted(root.glob("attempt-*"))


def _decisions_are_tool_calls(root: Path) -> None:
    """Every decision in agent_events.jsonl and report.json is a call of a registered tool."""
    from openlora.tools.registry import TOOLS

    events = [e for e in read_events(root / "agent_events.jsonl") if e["event"] == "decision"]
    assert events and all(e["tool"] in TOOLS and isinstance(e["arguments"], dict) for e in events)
    report = json.loads((root / "report.json").read_text())
    calls = [a["decision"]["call"] for a in report["attempts"] if a.get("decision")]
    assert [(c["tool"], c["args"]) for c in calls] == [(e["tool"], e["arguments"]) for e in events]


def _reasons_are_readable_and_true(root: Path) -> None:
    """Every reason in report.json names its diagnosis and the settings it changed, and reads as text."""
    from openlora.agent.explanations import explanation_problems
    from openlora.agent.records import Decision

    report = json.loads((root / "report.json").read_text())
    decisions = [Decision.model_validate(a["decision"]) for a in report["attempts"] if a.get("decision")]
    assert decisions
    for decision in decisions:
        text = decision.explanation()
        assert explanation_problems(text, decision.diagnosis.value, decision.changes) == [], text
        assert f"- why: {text}" in (root / "report.md").read_text()


def _registry_times_are_the_attempts_own(root: Path, attempts) -> None:
    rows = RunRegistry().attempts(root.name)
    assert [r["number"] for r in rows] == [a.number for a in attempts]
    for row, attempt in zip(rows, attempts, strict=True):
        assert row["started_at"] == attempt.started_at and row["ended_at"] == attempt.ended_at
        assert row["started_at"] < row["ended_at"]
    for earlier, later in itertools.pairwise(rows):
        assert later["started_at"] >= earlier["ended_at"]  # attempt 2 starts after attempt 1 ended


def test_nan_goal_is_rescued_and_the_second_run_starts_from_the_remembered_fix(
    home, tiny_llama, kv_dataset, tmp_path
):
    goal = write_goal(tmp_path / "goal", tiny_llama, kv_dataset)
    lines: list[str] = []
    first = run_goal(goal, tmp_path / "runs", echo=lines.append, poll_s=0.1)

    assert first.outcome == "success"
    statuses = [a.status for a in first.attempts]
    assert statuses[0] == "nan" and statuses[-1] == "completed"
    rescue = first.attempts[0]
    assert rescue.finding.diagnosis == "nan"
    assert rescue.decision.changes["learning_rate"] < 30 * 0.1 + 1e-9
    assert first.attempts[-1].final_metrics["val_loss"] < 5.5

    report = (Path(first.run_root) / "report.md").read_text()
    assert "diagnosis: **nan**" in report and "- decision (" in report and "- why: " in report
    assert (Path(first.run_root) / "loss.png").stat().st_size > 1000
    assert json.loads((Path(first.run_root) / "report.json").read_text())["outcome"] == "success"
    assert any(line.startswith("[decide]") for line in lines)  # the console timeline shows the decision

    memory = IncidentMemory()
    (hit,) = [h for h in memory.search("loss became nan", k=5) if h.incident.diagnosis == "nan"]
    assert hit.incident.outcome == Outcome.FIXED
    assert hit.incident.fix.changes == rescue.decision.changes
    decisions = RunRegistry().decisions(Path(first.run_root).name)
    assert [d["action"] for d in decisions] == [rescue.decision.action]
    _decisions_are_tool_calls(Path(first.run_root))
    _reasons_are_readable_and_true(Path(first.run_root))
    _registry_times_are_the_attempts_own(Path(first.run_root), first.attempts)

    second = run_goal(goal, tmp_path / "runs", echo=lines.append, poll_s=0.1)
    assert second.outcome == "success"
    assert len(second.attempts) < len(first.attempts)
    assert second.plan.memory_hits and second.plan.memory_hits[0]["incident"] == hit.incident.id
    assert second.attempts[0].config["learning_rate"] == rescue.decision.changes["learning_rate"]


def test_oom_measures_the_batch_that_fits_and_keeps_the_effective_batch(home, tiny_llama, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(" ".join(f"word{i % 97} and token{i % 89}" for i in range(20_000)), encoding="utf-8")
    goal = write_goal(
        tmp_path / "goal",
        tiny_llama,
        corpus,
        budget={"max_attempts": 2},
        training={
            "learning_rate": 0.01,
            "weight_decay": 0.0,
            "batch_size": 256,  # over 1 GiB of activations at 512 tokens: far past the limit
            "grad_accum": 1,
            "max_seq_len": 512,
            "memory_limit_gb": 0.1,  # wide enough that address-space noise (a thread's arena) stays small
            "max_steps": 1,
        },
    )
    final = run_goal(goal, tmp_path / "runs", echo=lambda _: None, poll_s=0.1)
    first, second = final.attempts[:2]
    assert first.status == "oom" and first.finding.diagnosis == "oom"
    trials = first.finding.evidence["memory_probe"]  # measured, not halved blind
    assert trials[0]["batch_size"] == 1 and all(t["batch_size"] <= 128 for t in trials)
    assert (Path(final.run_root) / "memory-probe-after-1" / "result.json").is_file()
    assert 2 <= second.config["batch_size"] < 256
    assert second.config["batch_size"] * second.config["grad_accum"] == 256
    assert second.status != "oom", second.status  # the measured batch trains


def test_oom_when_not_one_sequence_fits_measures_the_length_that_does(home, tiny_llama, tmp_path):
    """Not even batch 1 of 32768 tokens fits 0.05 GiB: the probe measures halving lengths with
    checkpointing and the next attempt trains at the measured length — one attempt, not one per halving."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(" ".join(f"word{i % 97} and token{i % 89}" for i in range(20_000)), encoding="utf-8")
    training = {"batch_size": 2, "grad_accum": 1, "max_seq_len": 32768, "memory_limit_gb": 0.05}
    goal = write_goal(
        tmp_path / "goal",
        tiny_llama,
        corpus,
        budget={"max_attempts": 2},
        training=training | {"learning_rate": 0.01, "weight_decay": 0.0, "max_steps": 1},
    )
    final = run_goal(goal, tmp_path / "runs", echo=lambda _: None, poll_s=0.1)
    first, second = final.attempts[:2]
    assert first.status == "oom" and first.finding.diagnosis == "oom"
    assert first.finding.evidence["largest_fitting"] is None  # batch 1 of the whole length: out of memory
    lengths = [(t["tokens"], t["fits"]) for t in first.finding.evidence["length_probe"]]
    assert lengths == sorted(lengths) and lengths[-1][1] is False and lengths[0][1] is True
    fitting = [tokens for tokens, fits in lengths if fits]
    assert (Path(final.run_root) / "length-probe-after-1" / "result.json").is_file()
    assert second.config["max_seq_len"] == fitting[-2]  # one length of headroom below the longest that fit
    assert second.config["gradient_checkpointing"] is True
    assert (second.config["batch_size"], second.config["grad_accum"]) == (1, 2)  # the same effective batch
    assert second.status == "completed", second.status  # the measured length trains
    report = (Path(final.run_root) / "report.md").read_text()
    assert f"max_seq_len {fitting[-2]} (one length of headroom) (changes" in report  # text: none cut


def test_kill_and_resume_runs_one_trainer_at_a_time_and_applies_each_patch_once(
    home, tiny_llama, kv_dataset, tmp_path
):
    goal = write_goal(
        tmp_path / "goal",
        tiny_llama,
        kv_dataset,
        training={"max_steps": 500, "eval_every": 250, "save_every": 250},
    )
    runs = tmp_path / "runs"
    agent = subprocess.Popen(
        [CLI, "run", str(goal), "--runs", str(runs)],
        env=env_with(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    second = None
    while time.time() < deadline and agent.poll() is None:
        roots = list(runs.glob("kv-rescue-*"))
        if roots and (roots[0] / "attempt-2" / "trainer.pid").exists():
            second = roots[0] / "attempt-2"
            if any(e.get("event") == "step" for e in read_events(second / "metrics.jsonl")):
                break
        time.sleep(0.05)
    assert second is not None, "the agent never reached its second attempt"
    agent.send_signal(signal.SIGKILL)
    agent.wait(timeout=30)
    trainer_pid = read_json(second / "trainer.pid")["pid"]
    os.kill(trainer_pid, 0)  # the trainer outlived the agent

    resumed = subprocess.run(
        [CLI, "run", str(goal), "--runs", str(runs), "--resume"],
        env=env_with(home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (
        "reattached to the trainer" in resumed.stderr
        or "[resume]" in resumed.stderr
        or "monitor" in resumed.stderr
    )

    root = second.parent
    assert [p.name for p in _attempts(root)] == ["attempt-1", "attempt-2"]
    for attempt in _attempts(root):
        events = read_events(attempt / "metrics.jsonl")
        starts = [e for e in events if e["event"] == "run_start"]
        assert len(starts) == 1, f"{attempt.name} was trained by {len(starts)} trainer processes"
        patch_ids = [e["patch_id"] for e in events if e["event"] == "patch_applied"]
        assert len(patch_ids) == len(set(patch_ids))
    assert len(RunRegistry().decisions(root.name)) == 1  # the relaunch decision was taken once
    report = json.loads((root / "report.json").read_text())
    assert report["outcome"] == "success" and len(report["attempts"]) == 2


def _noise_dataset(path: Path) -> Path:
    import random

    rng = random.Random(7)
    path.write_text(
        "".join(
            json.dumps(
                {"prompt": f"key {i % 6}", "response": "".join(rng.choice("qzx!{};#") for _ in range(12))}
            )
            + "\n"
            for i in range(40)
        ),
        encoding="utf-8",
    )
    return path


def test_data_that_looks_like_noise_is_refused_before_any_training(home, tiny_llama, tmp_path):
    noise = _noise_dataset(tmp_path / "noise.jsonl")
    goal = write_goal(tmp_path / "goal", tiny_llama, noise)
    lines: list[str] = []
    final = run_goal(goal, tmp_path / "runs", echo=lines.append, poll_s=0.1)

    root = Path(final.run_root)
    assert final.outcome == "failed" and final.attempts == [] and not _attempts(root)
    assert final.finding.diagnosis == "data_error"
    assert any(line.startswith("[refuse] not training: garbled responses") for line in lines)
    report = (root / "report.md").read_text()
    assert "**blocking**: garbled responses" in report and "bad_data: warn" in report
    (run,) = [r for r in RunRegistry().history() if r.id == root.name]
    assert run.status == "failed" and run.attempts == 0

    # bad_data: warn trains anyway; the detectors then stop at the first failure instead of tuning.
    warned = write_goal(tmp_path / "warn", tiny_llama, noise, bad_data="warn", budget={"max_attempts": 2})
    final = run_goal(warned, tmp_path / "runs", echo=lambda _: None, poll_s=0.1)
    assert len(final.attempts) == 1 and final.outcome == "failed"
    assert final.attempts[0].decision.action == "stop"


def test_a_validation_file_of_training_rows_is_refused_before_any_training(
    home, tiny_llama, kv_dataset, tmp_path
):
    """A validation loss over rows the adapter trains on cannot measure the goal: no success is reported."""
    goal = write_goal(tmp_path / "goal", tiny_llama, kv_dataset, eval_dataset=str(kv_dataset))
    lines: list[str] = []
    final = run_goal(goal, tmp_path / "runs", echo=lines.append, poll_s=0.1)
    assert final.outcome == "failed" and final.attempts == []
    refusal = next(line for line in lines if line.startswith("[refuse]"))
    assert "validation file: 60 of 60 validation rows (100%) also appear in the training file" in refusal


def test_the_first_lr_is_measured_and_a_pinned_fault_is_named_before_training(
    home, tiny_llama, kv_dataset, tmp_path
):
    import yaml

    goal = tmp_path / "goal.yaml"
    training = {"max_steps": 40, "warmup_steps": 30, "max_seq_len": 64, "eval_every": 10, "num_threads": 1}
    goal.write_text(
        yaml.safe_dump(
            {
                "name": "measured",
                "task": "Learn the key to value pairs.",
                "base_model": str(tiny_llama),
                "dataset": str(kv_dataset),
                "success": {"val_loss_below": 5.5},
                "budget": {"max_attempts": 2, "max_wall_minutes": 10},
                "evaluation": {"samples": 0},
                "training": training,
            }
        ),
        encoding="utf-8",
    )
    lines: list[str] = []
    final = run_goal(goal, tmp_path / "runs", echo=lines.append, poll_s=0.1)

    probe = final.plan.lr_probe
    assert probe is not None and 2 <= len(probe["curve"]) <= 8  # 10 % of 2 attempts × 40 steps
    prior = final.plan.prior_lr
    assert prior / 10 <= final.attempts[0].config["learning_rate"] <= prior * 10
    assert any(line.startswith("[probe] learning-rate probe: ") for line in lines)
    warned = [line for line in lines if "pre-flight warning: warmup_steps 30 is 75%" in line]
    assert warned and "warmup_steps set by the goal" in warned[0]
    assert final.attempts[0].config["warmup_steps"] == 30  # pinned: kept
    report = (Path(final.run_root) / "report.md").read_text()
    assert (
        "## Pre-flight check" in report
        and "| warmup_share | warmup_steps | 75% | ≤ 30% | **high** |" in report
    )
    assert "## Learning-rate probe" in report
