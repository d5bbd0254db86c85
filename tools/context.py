"""What the tools may touch: one run folder, its attempts, the goal's datasets, memory and the advisor.

The advisor never names a path: it picks an attempt number or a dataset id from the lists held
here, and every file a tool writes lands inside ``run_root``. Tools receive the context as an
injected argument (:data:`RunContext`): it is bound by the supervisor and never part of the schema
the advisor sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from langchain_core.tools import InjectedToolArg

from openlora.trainer.rundir import GoalDir, RunDir

if TYPE_CHECKING:
    from openlora.memory.incidents import IncidentMemory


class ToolError(ValueError):
    """A tool was called with something outside what it was given."""


class ToolContext:
    """The run a set of tool calls is bound to (a plain class: validated as an opaque value)."""

    def __init__(
        self,
        run_root: Path,
        datasets: dict[str, Path] | None = None,
        memory: IncidentMemory | None = None,
        advisor: Any = None,
    ) -> None:
        self.run_root = Path(run_root)
        self.datasets = dict(datasets or {})
        self.memory = memory
        self.advisor = advisor  # an openlora.advisor.client.Advisor, for the tools that generate text

    def attempt_dir(self, attempt: int) -> Path:
        if not isinstance(attempt, int) or attempt < 1 or attempt > 1000:
            raise ToolError(f"attempt must be a number from 1; got {attempt!r}")
        return GoalDir(self.run_root).attempt(attempt).root

    def existing_attempt(self, attempt: int) -> Path:
        folder = self.attempt_dir(attempt)
        if not RunDir(folder).is_run():
            raise ToolError(f"attempt {attempt} does not exist in this run")
        return folder

    def dataset(self, dataset_id: str) -> Path:
        if dataset_id not in self.datasets:
            raise ToolError(f"unknown dataset id {dataset_id!r}; known: {sorted(self.datasets)}")
        return self.datasets[dataset_id]


RunContext = Annotated[ToolContext, InjectedToolArg]
