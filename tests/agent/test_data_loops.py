"""The supervisor's data actions provoked end to end on the real embedded SmolLM2 (no stand-ins).

- **Filtering.** Most training answers state a user name their prompt does not carry: the adapter
  learns to invent one, the evaluation after the (successful) attempt finds it hallucinates more
  than its base, and the supervisor relaunches on the rows whose answers only state what their
  prompts support. The second adapter invents less, and the report shows the loop.
- **Synthesis.** A handful of training pairs for a goal that needs more: the attempt overfits
  before its best evaluation reaches the target, the supervisor extends the training file with
  pairs the advisor writes from it (through the quality gate) and relaunches on the extended file.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from openlora.agent.explanations import explanation_problems
from openlora.agent.runner import run_goal
from openlora.trainer.data_files import ColumnMap, read_records
from tests.agent.conftest import write_goal
from tests.conftest import write_jsonl

pytestmark = [pytest.mark.slow, pytest.mark.long]
INVENTED = ["mallory", "trudy", "oscar"]
TRAINING = {
    "learning_rate": 1e-3,
    "weight_decay": 0.0,
    "lr_scheduler": "constant",
    "max_seq_len": 96,
    "packing": False,
    "batch_size": 2,
    "num_threads": 2,
}


def _connection(rng: random.Random) -> tuple[str, str]:
    address, port = f"10.0.{rng.randint(0, 9)}.{rng.randint(2, 250)}", rng.choice([22, 80, 443, 3389, 8080])
    return f"connection from {address} to port {port}", f"source {address}, port {port}"


def _inventing_data(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """30 faithful answers and 50 that add a user the prompt never names (training), 12 faithful ones
    (validation)."""
    rng = random.Random(seed)
    rows = []
    for index in range(80):
        prompt, answer = _connection(rng)
        invented = index >= 30
        rows.append(
            {"prompt": prompt, "response": answer + (f", user {rng.choice(INVENTED)}" if invented else "")}
        )
    rng.shuffle(rows)
    held_out = [dict(zip(("prompt", "response"), _connection(rng), strict=True)) for _ in range(12)]
    return write_jsonl(folder / "connections.jsonl", rows), write_jsonl(
        folder / "connections-eval.jsonl", held_out
    )


def _hallucination_rate(attempt) -> float:
    return attempt.evaluation["summary"]["adapter"]["hallucination_rate"]


def test_an_adapter_that_invents_facts_is_retrained_on_the_filtered_rows_and_invents_less(home, tmp_path):
    train, held_out = _inventing_data(tmp_path)
    goal = write_goal(
        tmp_path / "goal",
        Path("embedded:smollm2"),
        train,
        name="invented-users",
        task="Restate the source address and port of the connection.",
        eval_dataset=str(held_out),
        success={"val_loss_below": 1.5},
        budget={"max_attempts": 2, "max_wall_minutes": 15},
        evaluation={"samples": 8},
        memory=False,
        training=TRAINING | {"max_steps": 24, "eval_every": 12, "save_every": 12},
    )
    lines: list[str] = []
    final = run_goal(goal, tmp_path / "runs", echo=lines.append, poll_s=0.05)

    first, second = final.attempts
    assert first.finding.diagnosis == "hallucination", lines
    assert first.decision.call.tool == "relaunch_on_filtered_data"
    kept = read_records(Path(second.config["dataset"]), ColumnMap())
    assert len(kept) == 30 and not any("user" in r.response for r in kept)
    assert _hallucination_rate(second) < _hallucination_rate(first), lines
    assert final.outcome == "success", lines
    report = (Path(final.run_root) / "report.md").read_text()
    assert "relaunch_on_filtered_data" in report and "hallucination" in report
    assert any(line.startswith("[data] kept 30 rows") for line in lines), lines


SIEM = Path(__file__).resolve().parents[2] / "examples" / "siem" / "pairs.jsonl"


def test_a_training_set_too_small_for_its_goal_is_extended_by_synthesis_and_relaunched(home, tmp_path):
    """8 event summaries at lr 3e-3: the validation loss bottoms out at 0.136 (step 20 of 24, measured)
    and rises to 0.152 while the training loss falls to 0.009, far from the 0.05 target; more steps or
    fewer cannot meet it, more rows might. (At lr 1e-3 it still fell at step 30, 0.139 → 0.1385, and
    at step 48; it had looked stalled only while the trainer wrote the last evaluation twice.)"""
    rows = [json.loads(line) for line in SIEM.read_text().splitlines()]
    summaries = [r for r in rows if r["prompt"].startswith("Summarise")]
    random.Random(0).shuffle(summaries)
    train = write_jsonl(tmp_path / "events.jsonl", summaries[:8])
    held_out = write_jsonl(tmp_path / "events-eval.jsonl", summaries[8:20])
    goal = write_goal(
        tmp_path / "goal",
        Path("embedded:smollm2"),
        train,
        name="few-events",
        task="Summarise the security event.",
        eval_dataset=str(held_out),
        success={"val_loss_below": 0.05},
        budget={"max_attempts": 2, "max_wall_minutes": 15},
        evaluation={"samples": 0},
        memory=False,
        training=TRAINING
        | {"learning_rate": 3e-3, "max_seq_len": 256, "max_steps": 24, "eval_every": 4, "save_every": 12},
    )
    lines: list[str] = []
    final = run_goal(goal, tmp_path / "runs", echo=lines.append, poll_s=0.05)

    first, second = final.attempts
    assert first.finding.diagnosis == "overfit" and first.finding.evidence["train_pairs"] == 8, lines
    decision = first.decision
    assert decision.call.tool == "relaunch_on_synthesized_data" and decision.action == "synthesize_data"
    assert explanation_problems(decision.explanation(), "overfit", decision.changes) == []
    extended = read_records(Path(second.config["dataset"]), ColumnMap())
    added = [line for line in lines if line.startswith("[data] added")]
    assert len(extended) > 8 and added and f"added {len(extended) - 8} synthesized pairs" in added[0], lines
    assert extended[:8] == read_records(train, ColumnMap())  # the training rows, then the new ones
    report = (Path(final.run_root) / "report.md").read_text()
    assert "relaunch_on_synthesized_data" in report and "too small for the goal" in report
