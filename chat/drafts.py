"""Goal drafts: a tuning intent becomes an editable goal.yaml, and "try a smaller lr" edits it.

A draft is YAML text the person can read, edit and approve; nothing runs until they do.
:func:`save_draft` validates the (possibly edited) text with the same strict goal loader as
``openlora-agent run`` (errors name the field and line) and only then moves the file into place,
so an invalid edit leaves nothing behind. A raw log file (``.log``) is first turned into
prompt/response pairs with the log importer, and the draft says so.

Adjustments move one setting by a fixed step (×0.5 or ×2) and are validated again; they never
leave the bounds of the goal and training models.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from openlora.agent.goal import Goal, GoalError, load_goal
from openlora.chat.intent import Intent
from openlora.trainer.config import EMBEDDED_BASE, TrainConfig

# Defaults that finish on a 2-core CPU in a few minutes with the embedded model.
DEFAULT_TRAINING: dict[str, Any] = {
    "max_steps": 30,
    "max_seq_len": 256,
    "val_fraction": 0.2,
    "eval_every": 10,
    "save_every": 10,
}
STEP = {"lower": 0.5, "higher": 2.0}
INTEGER_SETTINGS = ("max_steps", "batch_size", "max_seq_len")


@dataclass
class Draft:
    """An editable goal and what was done to build it."""

    text: str
    name: str
    notes: list[str] = field(default_factory=list)


def _name(dataset: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset.stem).strip("-.") or "goal"
    return stem[:48] if stem[0].isalnum() else f"g{stem[:47]}"


def import_log(path: Path, data_dir: Path) -> tuple[Path, str]:
    """A raw log file as prompt/response pairs in ``data_dir`` (the siem pack); returns them and a note."""
    from openlora.synthesis.packs.registry import PackError
    from openlora.synthesis.packs.running import LOG_IMPORTER, run_import
    from openlora.trainer.rundir import write_jsonl_atomic

    try:
        pack, importer = LOG_IMPORTER
        result = run_import(pack, path, importer)
    except PackError as exc:
        raise GoalError(f"{path}: {exc}") from None
    pairs, report = result.records, result.report.details
    if not pairs:
        raise GoalError(f"{path}: no log events could be read ({report['malformed']} malformed lines)")
    target = data_dir / f"{_name(path)}.pairs.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl_atomic(target, pairs)
    return (
        target,
        f"imported {report['events']} log events from {path.name} → {report['pairs']} pairs in {target}",
    )


def draft_goal(
    intent: Intent,
    data_dir: Path,
    base_model: str = EMBEDDED_BASE,
    training: dict[str, Any] | None = None,
    approval: str = "ask",
) -> Draft:
    """A goal draft for a ``tune`` intent; the text is valid YAML that :func:`save_draft` accepts."""
    if intent.kind != "tune" or intent.dataset is None:
        raise GoalError("a goal draft needs a tuning request that names an existing data file")
    notes: list[str] = []
    dataset = intent.dataset
    if dataset.suffix.lower() == ".log":
        dataset, note = import_log(dataset, data_dir)
        notes.append(note)
    goal = {
        "name": _name(intent.dataset),
        "task": intent.task or intent.request,
        "base_model": base_model,
        "dataset": str(dataset),
        "success": {"val_loss_below": 1.5},
        "budget": {"max_attempts": 3, "max_wall_minutes": 30},
        "approval": approval,
        "training": {**DEFAULT_TRAINING, **(training or {})},
        "outputs": ["adapter"],
    }
    Goal.model_validate(goal).resolve(data_dir)
    header = "# Goal draft: edit, then approve. Reference: README, goal.yaml.\n"
    text = header + yaml.safe_dump(goal, sort_keys=False, allow_unicode=True)
    return Draft(text, goal["name"], notes)


def adjust_draft(text: str, intent: Intent) -> tuple[str, str]:
    """Move one training setting of a draft by ×0.5 or ×2; returns the new text and what changed."""
    if intent.setting == "none" or intent.direction == "none":
        raise GoalError("say which setting to change and which way (e.g. 'try a smaller lr')")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise GoalError("the draft is not a YAML mapping")
    training = dict(data.get("training") or {})
    current = training.get(intent.setting, TrainConfig.model_fields[intent.setting].default)
    new: float | int = float(current) * STEP[intent.direction]
    if intent.setting in INTEGER_SETTINGS:
        new = max(1, round(new))
    training[intent.setting] = new
    data["training"] = training
    try:
        Goal.model_validate(data).base_config()
    except Exception as exc:
        raise GoalError(f"{intent.setting} {current} → {new} is not allowed: {exc}") from None
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), (
        f"{intent.setting}: {current:g} → {new:g}"
    )


def save_draft(text: str, drafts_dir: Path, name: str) -> tuple[Path, Goal]:
    """Validate an edited draft and write it as ``drafts_dir/NAME.yaml``; nothing is left if invalid."""
    drafts_dir.mkdir(parents=True, exist_ok=True)
    target = drafts_dir / f"{name}.yaml"
    handle, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".yaml", dir=drafts_dir)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        goal = load_goal(Path(temp))
        os.replace(temp, target)
    except BaseException as exc:
        Path(temp).unlink(missing_ok=True)
        if isinstance(exc, GoalError):
            raise GoalError(str(exc).replace(temp, "the draft")) from None
        raise
    return target, goal
