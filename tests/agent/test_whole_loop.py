"""The supervisor's live path provoked end to end on the real embedded SmolLM2 (no stand-ins).

A training file with a few corrupt rows (long runs of random symbols, as a torn shard would carry)
makes the loss of the steps that meet them jump far above the steps before: the monitor sees the
spike while the trainer runs, the decision (made while the trainer waits between steps, when they
share the cores) is a live patch through ``patch_hyperparams``, the trainer applies it at its next
step, and the attempt goes on to meet the goal without a relaunch.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from openlora.agent.monitor import shares_cores_with_advisor
from openlora.agent.runner import run_goal
from openlora.trainer.rundir import read_events
from tests.agent.conftest import write_goal
from tests.conftest import write_jsonl

pytestmark = [pytest.mark.slow, pytest.mark.long]
NAMES = ["ann", "bob", "eve", "kim", "lee", "max", "sam", "zoe", "ida", "joe"]
CITIES = ["oslo", "lima", "rome", "kyiv", "pune", "cork", "nice", "bern"]
SEED = 1  # the draw whose corrupt rows the trainer's seeded order meets at steps 4, 5, 8 and 16 (checked)


def _people(rng: random.Random, n: int) -> list[dict[str, str]]:
    rows = []
    for _ in range(n):
        name, city, age = rng.choice(NAMES), rng.choice(CITIES), rng.randint(20, 70)
        rows.append({"prompt": f"{name} {age} {city}", "response": f"name {name}, city {city}"})
    return rows


def _spiking_data(folder: Path, seed: int = SEED) -> tuple[Path, Path]:
    """60 clean rows and 6 corrupt ones (the training file), 12 other clean rows (the validation file)."""
    rng = random.Random(seed)
    corrupt = [
        {
            "prompt": f"{rng.choice(NAMES)} {rng.randint(20, 70)}",
            "response": "".join(rng.choices("#$%&*@!?~^", k=40)),
        }
        for _ in range(6)
    ]
    train = _people(rng, 60) + corrupt
    rng.shuffle(train)
    return write_jsonl(folder / "people.jsonl", train), write_jsonl(
        folder / "people-eval.jsonl", _people(rng, 12)
    )


def test_a_loss_spike_mid_run_is_patched_live_and_the_attempt_meets_the_goal(home, tmp_path):
    train, held_out = _spiking_data(tmp_path)
    goal = write_goal(
        tmp_path / "goal",
        Path("embedded:smollm2"),
        train,
        name="spike",
        eval_dataset=str(held_out),
        success={"val_loss_below": 1.5},
        budget={"max_attempts": 2, "max_wall_minutes": 15},
        evaluation={"samples": 0},  # scoring is another test's subject (test_evaluation_loop)
        memory=False,  # the live path alone: no incident recall (its embedder) in the decision
        training={
            "learning_rate": 1e-3,
            "weight_decay": 0.0,
            "lr_scheduler": "constant",
            # the spike comes at step 16; the trainer waits between steps while the supervisor decides
            # (on a machine where they share the cores), so a few steps more see the patch at work
            "max_steps": 24,
            "max_seq_len": 96,
            "packing": False,
            "batch_size": 2,
            "eval_every": 12,
            "save_every": 12,
            "num_threads": 2,
        },
    )
    lines: list[str] = []
    final = run_goal(goal, tmp_path / "runs", echo=lines.append, poll_s=0.05)

    assert final.outcome == "success" and len(final.attempts) == 1, lines  # no relaunch
    (attempt,) = final.attempts
    assert attempt.patches and attempt.patches[0]["changes"]
    events = read_events(Path(attempt.run_dir) / "metrics.jsonl")
    applied = [e for e in events if e["event"] == "patch_applied"]
    steps = {e["step"]: e for e in events if e["event"] == "step"}
    at = applied[0]["step"]
    assert at < max(steps)  # applied while the run was going, then it went on
    if shares_cores_with_advisor(events):  # as on this project's 2-core machine
        holds = [e for e in events if e["event"] == "held"]
        assert holds and holds[0]["step"] == at  # no step ran while it decided; the patch came next
    if "learning_rate" in applied[0]["changes"]:
        assert steps[at + 1]["lr"] == pytest.approx(applied[0]["changes"]["learning_rate"])
    patch_lines = [line for line in lines if line.startswith("[patch]")]
    assert patch_lines and all("patch_hyperparams" in line for line in patch_lines), patch_lines
    report = (Path(final.run_root) / "report.md").read_text()
    assert f"- live patch {applied[0]['patch_id']} at step {at}" in report
    decisions = [
        e for e in read_events(Path(final.run_root) / "agent_events.jsonl") if e["event"] == "decision"
    ]
    assert decisions and decisions[0]["tool"] == "patch_hyperparams"
    assert json.loads((Path(final.run_root) / "report.json").read_text())["outcome"] == "success"
