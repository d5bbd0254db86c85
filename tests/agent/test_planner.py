"""The first config and what memory changes in it: the real incident memory (SQLite + Chroma)."""

from __future__ import annotations

import json
from pathlib import Path

from openlora.agent.goal import Goal
from openlora.agent.planner import fails_like, plan_first_config
from openlora.memory.incidents import IncidentMemory, NewIncident
from openlora.memory.records import Fix, Outcome
from openlora.memory.signature import Symptom

BASE = {"learning_rate": 0.05, "batch_size": 4, "max_seq_len": 64, "max_steps": 60, "warmup_steps": 0}


def _goal(tmp_path: Path, **training) -> Goal:
    model = tmp_path / "model"
    model.mkdir(exist_ok=True)
    (model / "config.json").write_text(
        json.dumps({"hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 1000, "model_type": "llama"})
    )
    data = tmp_path / "data.jsonl"
    data.write_text('{"prompt": "a", "response": "b"}\n')
    return Goal.model_validate(
        {
            "name": "plan",
            "task": "t",
            "base_model": str(model),
            "dataset": str(data),
            "success": {"val_loss_below": 1.0},
            "training": {**BASE, **training},
        }
    )


def _remember(
    memory: IncidentMemory, run: str, attempt: int, diagnosis: str, config: dict, fix: Fix, outcome
):
    incident = memory.add(
        NewIncident(
            Symptom(diagnosis, "llama", config=config), fix, run_id=run, attempt=attempt, config=config
        )
    )
    memory.update_outcome(incident.id, outcome)
    return incident


def test_fails_like_reads_the_direction_of_the_fix():
    assert fails_like(40.0, 30.0, 0.01)  # lowered from 30: 40 is too high as well
    assert fails_like(20.0, 30.0, 0.01)  # within the slack
    assert not fails_like(0.05, 30.0, 0.01)
    assert fails_like(2e-7, 5e-7, 5e-6) and not fails_like(1e-3, 5e-7, 5e-6)  # raised: lower fails too
    assert fails_like(["q"], ["q"], ["q_proj"]) and not fails_like(None, ["q"], ["q_proj"])


def test_a_fault_of_another_size_starts_from_the_remembered_fix(home, tmp_path):
    memory = IncidentMemory()
    config = {**BASE, "learning_rate": 30.0}
    first = _remember(memory, "r1", 1, "nan", config, Fix("lower_lr", {"learning_rate": 0.01}), Outcome.FIXED)

    plan = plan_first_config(_goal(tmp_path, learning_rate=45.0), 60, memory)
    assert plan.config["learning_rate"] == 0.01 and plan.memory_hits[0]["incident"] == first.id
    healthy = plan_first_config(_goal(tmp_path), 60, memory)
    assert healthy.config["learning_rate"] == 0.05 and not healthy.memory_hits


def test_a_fix_found_over_several_attempts_is_applied_whole(home, tmp_path):
    memory = IncidentMemory()
    big = {**BASE, "batch_size": 64}
    first = _remember(memory, "r2", 1, "oom", big, Fix("reduce_batch", {"batch_size": 32}), Outcome.NOT_FIXED)
    _remember(
        memory,
        "r2",
        2,
        "oom",
        {**big, "batch_size": 32},
        Fix("reduce_batch", {"batch_size": 16}),
        Outcome.FIXED,
    )
    plan = plan_first_config(_goal(tmp_path, batch_size=48), 60, memory)
    assert plan.config["batch_size"] == 16
    assert plan.memory_hits[0]["incident"] == first.id
    assert plan.memory_hits[0]["fix"]["action"] == "reduce_batch then reduce_batch"
    assert plan_first_config(_goal(tmp_path), 60, memory).config["batch_size"] == 4  # batch 4 never failed


def test_a_fix_made_at_a_very_different_lr_is_not_applied(home, tmp_path):
    memory = IncidentMemory()
    config = {**BASE, "learning_rate": 30.0}
    _remember(memory, "r3", 1, "nan", config, Fix("add_warmup", {"warmup_steps": 10}), Outcome.FIXED)
    assert plan_first_config(_goal(tmp_path), 60, memory).config["warmup_steps"] == 0
    assert plan_first_config(_goal(tmp_path, learning_rate=25.0), 60, memory).config["warmup_steps"] == 10
