"""Malformed goal files fail with a clear error before anything runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from openlora.agent.goal import GoalError, load_goal

CLI = str(Path(sys.executable).parent / "openlora-agent")


def _goal_text(dataset: Path, extra: str = "", success: str = "success:\n  val_loss_below: 2.0\n") -> str:
    return f"name: g\ntask: learn\ndataset: {dataset}\n{success}{extra}"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("colour: blue\n", "unknown key 'colour'"),
        ("task: twice\n", "duplicate key 'task'"),
        ("success:\n  val_loss_below: .nan\n", "duplicate key 'success'"),
        ("budget:\n  max_attempts: -1\n", "budget.max_attempts = -1"),
        ("budget:\n  max_wall_minutes: .nan\n", "budget.max_wall_minutes = NaN"),
        ("outputs: [adapter, onnx]\n", 'outputs.1 = "onnx"'),
        ("training:\n  learning_rat: 1e-4\n", "unknown training setting(s) ['learning_rat']"),
        ("training:\n  dataset: other.jsonl\n", "are set at the top level"),
        ("approval: sometimes\n", 'approval = "sometimes"'),
        ("advisor:\n  model: missing.gguf\n", "advisor.model: not a GGUF file"),
    ],
)
def test_bad_goals_name_the_field(tmp_path, kv_dataset, extra, expected):
    path = tmp_path / "goal.yaml"
    path.write_text(_goal_text(kv_dataset, extra), encoding="utf-8")
    with pytest.raises(GoalError) as info:
        load_goal(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_nan_target_and_missing_dataset_and_cli_exit(tmp_path, kv_dataset):
    path = tmp_path / "goal.yaml"
    path.write_text(_goal_text(kv_dataset, success="success:\n  val_loss_below: .nan\n"), encoding="utf-8")
    with pytest.raises(GoalError, match=r"success\.val_loss_below = NaN"):
        load_goal(path)
    path.write_text(_goal_text(tmp_path / "nowhere.jsonl"), encoding="utf-8")
    with pytest.raises(GoalError, match="dataset: file not found"):
        load_goal(path)
    proc = subprocess.run(
        [CLI, "run", str(path), "--runs", str(tmp_path / "runs")], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "dataset: file not found" in proc.stderr
    assert not (tmp_path / "runs").exists()  # nothing ran, nothing was created


def test_good_goal_resolves_paths(tmp_path, kv_dataset):
    path = tmp_path / "goal.yaml"
    path.write_text(_goal_text(kv_dataset, "training:\n  learning_rate: 1e-3\n"), encoding="utf-8")
    goal = load_goal(path)
    assert goal.dataset == str(kv_dataset.resolve()) and goal.training["learning_rate"] == 1e-3
    assert goal.base_config().learning_rate == 1e-3


def test_a_huge_value_in_goal_yaml_is_echoed_cut_short_and_a_50_mb_file_refused(tmp_path, kv_dataset):
    huge = "x" * 500_000
    cases = {
        f'approval: "{huge}"\n': 'approval = "xxxx',
        f"training:\n  learning_rate: '{huge}'\n": "training: learning_rate = ",
        f"{huge[:1000]}: 1\n": "unknown key 'xxxx",
        f"budget:\n  max_attempts: {'9' * 5000}\n": "has 5000 digits",
    }
    path = tmp_path / "goal.yaml"
    for extra, expected in cases.items():
        path.write_text(_goal_text(kv_dataset, extra), encoding="utf-8")
        with pytest.raises(GoalError) as info:
            load_goal(path)
        message = str(info.value)
        assert expected in message and str(path) in message
        assert len(message) < 600, message[:600]
    path.write_text(_goal_text(kv_dataset, f'approval: "{"x" * 50_000_000}"\n'), encoding="utf-8")
    with pytest.raises(GoalError, match=r"goal.yaml: 47.7 MiB is too large for a config file"):
        load_goal(path)
