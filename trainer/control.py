"""Live hyper-parameter patches read from ``control.json`` between optimizer steps.

The agent writes ``{"patch_id": "...", "learning_rate": ..., "max_grad_norm": ..., "eval_every": ...,
"save_every": ...}`` atomically; the trainer validates it with the same bounds as the config and
applies each new ``patch_id`` once. Bad patches are rejected with a reason, never half-applied.
This module parses and validates; the recipe applies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openlora.trainer.config import format_validation_error, optional_setting
from openlora.trainer.rundir import read_json, write_json_atomic


class ControlPatch(BaseModel):
    """Settings the agent may change while a run is live."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    patch_id: str = Field(
        ..., min_length=1, max_length=128, description="Unique id; each id is applied once."
    )
    # The same bounds as the training config (one source of truth).
    learning_rate: optional_setting("learning_rate") = None  # type: ignore[valid-type]
    max_grad_norm: optional_setting("max_grad_norm") = None  # type: ignore[valid-type]
    eval_every: optional_setting("eval_every") = None  # type: ignore[valid-type]
    save_every: optional_setting("save_every") = None  # type: ignore[valid-type]

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude={"patch_id"}, exclude_none=True)


class PatchRejected(ValueError):
    """control.json holds something that is not a valid patch."""

    def __init__(self, patch_id: str | None, reason: str) -> None:
        super().__init__(reason)
        self.patch_id = patch_id


def write_patch(path: Path, patch: ControlPatch) -> None:
    """Write a patch atomically (what the agent calls)."""
    write_json_atomic(path, patch.model_dump(exclude_none=True))


class ControlReader:
    """Polls ``control.json`` cheaply (by inode, mtime and size) and yields each new patch once."""

    def __init__(self, path: Path, applied: set[str] | None = None) -> None:
        self.path = path
        self.applied: set[str] = set(applied or ())
        self._seen_stat: tuple[int, int, int] | None = None

    def poll(self) -> ControlPatch | None:
        """The next unapplied patch, None when nothing new; PatchRejected for a bad file."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if key == self._seen_stat:
            return None
        self._seen_stat = key
        try:
            data = read_json(self.path)
        except (ValueError, OSError) as exc:
            raise PatchRejected(None, str(exc)) from None
        patch_id = data.get("patch_id") if isinstance(data, dict) else None
        if isinstance(patch_id, str) and patch_id in self.applied:
            return None
        try:
            patch = ControlPatch.model_validate(data)
        except ValidationError as exc:
            if isinstance(patch_id, str):
                self.applied.add(patch_id)
            raise PatchRejected(patch_id, format_validation_error(exc, str(self.path))) from None
        self.applied.add(patch.patch_id)
        return patch
