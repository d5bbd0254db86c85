"""Goals on tiny models for the supervisor tests (the ``home`` fixture is in tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

# Too high an lr with weight decay: the tiny model's loss turns NaN within a few steps.
BROKEN_TRAINING = {
    "learning_rate": 30,
    "weight_decay": 0.1,
    "lr_scheduler": "constant",
    "max_steps": 40,
    "max_seq_len": 64,
    "batch_size": 4,  # pinned: the memory probe has its own tests and would cost each goal a process
    "save_every": 10,
    "eval_every": 10,
    "num_threads": 1,
}


def write_goal(folder: Path, base: Path, dataset: Path, **overrides) -> Path:
    goal = {
        "name": "kv-rescue",
        "task": "Learn the key to value pairs.",
        "base_model": str(base),
        "dataset": str(dataset),
        "success": {"val_loss_below": 5.5},
        "budget": {"max_attempts": 3, "max_wall_minutes": 10},
        "training": dict(BROKEN_TRAINING),
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(goal.get(key), dict):
            goal[key] = {**goal[key], **value}
        else:
            goal[key] = value
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "goal.yaml"
    path.write_text(yaml.safe_dump(goal), encoding="utf-8")
    return path


def env_with(home: Path) -> dict[str, str]:
    return {**os.environ, "OPENLORA_HOME": str(home)}
