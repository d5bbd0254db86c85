"""Migrations, the run registry, and the history / incidents commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from openlora.memory.migrations import MIGRATIONS, migrate
from openlora.memory.registry import RunRegistry
from openlora.memory.store import MemoryStore
from tests.conftest import make_run

CLI = str(Path(sys.executable).parent / "openlora-agent")


def test_migrations_apply_once_in_order(tmp_path):
    store = MemoryStore(tmp_path / "home")
    applied = [r[0] for r in store.db.execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert applied == [m.__name__ for m in MIGRATIONS]
    assert migrate(store.db) == []
    assert MemoryStore(tmp_path / "home").db.execute("SELECT COUNT(*) FROM _migrations").fetchone()[0] == len(
        MIGRATIONS
    )


def test_record_run_dir_and_decisions(tiny_llama, kv_dataset, tmp_path, run_in_process):
    run = make_run(tmp_path / "run-a", base_model=str(tiny_llama), dataset=str(kv_dataset), max_steps=3)
    run_in_process(run)
    registry = RunRegistry(MemoryStore(tmp_path / "home"))
    run_id = registry.record_run_dir(run, goal="learn key-value pairs")
    registry.record_decision(
        run_id, 1, "lower_lr", {"learning_rate": 1e-4}, "loss spiked", "rules", "loss_spike"
    )

    (summary,) = registry.history()
    assert (summary.id, summary.status, summary.attempts) == ("run-a", "completed", 1)
    assert summary.final_metrics["steps"] == 3
    row = registry.store.db.execute("SELECT * FROM runs").fetchone()
    assert row["model_family"] == "llama" and len(row["dataset_fingerprint"]) == 64
    assert json.loads(row["exports"]) == ["adapter"]
    assert registry.decisions(run_id)[0]["arguments"] == {"learning_rate": 1e-4}

    registry.record_run_dir(run)  # recording again updates, never duplicates
    assert len(registry.history()) == 1


@pytest.mark.long  # four CLI processes; `incidents search` loads MiniLM even on an empty memory
def test_train_records_history_and_incident_commands_answer(tiny_llama, kv_dataset, tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "OPENLORA_HOME": str(home)}
    config = tmp_path / "t.yaml"
    config.write_text(f"name: hist\nbase_model: {tiny_llama}\ndataset: {kv_dataset}\nmax_steps: 2\n")
    assert (
        subprocess.run(
            [CLI, "train", str(config), "--runs", str(tmp_path / "runs")], env=env, capture_output=True
        ).returncode
        == 0
    )
    history = subprocess.run([CLI, "history"], env=env, capture_output=True, text=True)
    assert history.returncode == 0 and "hist-" in history.stdout and "completed" in history.stdout

    empty = subprocess.run(
        [CLI, "incidents", "search", "loss went nan"], env=env, capture_output=True, text=True
    )
    assert empty.returncode == 0 and "no incidents recorded yet" in empty.stdout
    missing = subprocess.run([CLI, "incidents", "show", "abc"], env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and "no incident" in missing.stderr


def test_history_shows_a_nan_loss_as_nan(tmp_path):
    home = tmp_path / "home"
    RunRegistry(MemoryStore(home)).upsert_run(
        "broken-1", "broken", "failed", final_metrics={"steps": 3.0, "train_loss": 2.5, "val_loss": "nan"}
    )
    history = subprocess.run(
        [CLI, "history"], env={**os.environ, "OPENLORA_HOME": str(home)}, capture_output=True, text=True
    )
    assert history.returncode == 0, history.stderr
    assert "broken-1" in history.stdout and "2.5000" in history.stdout and "nan" in history.stdout
