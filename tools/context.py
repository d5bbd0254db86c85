"""What the tools may touch: one run folder, its attempts, and the datasets of the goal.

The advisor never names a path: it picks an attempt number or a dataset id from the lists held
here, and every file a tool writes lands inside ``run_root``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class ToolError(ValueError):
    """A tool was called with something outside what it was given."""


@dataclass
class ToolContext:
    run_root: Path
    datasets: dict[str, Path] = field(default_factory=dict)

    def attempt_dir(self, attempt: int) -> Path:
        if not isinstance(attempt, int) or attempt < 1 or attempt > 1000:
            raise ToolError(f"attempt must be a number from 1; got {attempt!r}")
        return self.run_root / f"attempt-{attempt}"

    def existing_attempt(self, attempt: int) -> Path:
        folder = self.attempt_dir(attempt)
        if not (folder / "spec.json").is_file():
            raise ToolError(f"attempt {attempt} does not exist in this run")
        return folder

    def dataset(self, dataset_id: str) -> Path:
        if dataset_id not in self.datasets:
            raise ToolError(f"unknown dataset id {dataset_id!r}; known: {sorted(self.datasets)}")
        return self.datasets[dataset_id]
