"""All tools the advisor may call, as langchain-core tools with JSON schemas, bound to one run.

Arguments are pydantic models with ``extra="forbid"`` and bounds; a tool call outside them fails
validation before any code runs. Tools take attempt numbers and dataset ids, never paths.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, ConfigDict, Field

from openlora.memory.incidents import IncidentMemory
from openlora.tools.context import ToolContext
from openlora.tools.export_model import export_model
from openlora.tools.inspect_dataset import inspect_dataset
from openlora.tools.launch_run import launch_run
from openlora.tools.patch_hyperparams import patch_hyperparams
from openlora.tools.read_telemetry import read_telemetry
from openlora.tools.recall_incidents import recall_incidents
from openlora.tools.relaunch_from_checkpoint import relaunch_from_checkpoint
from openlora.tools.score_outputs import score_outputs
from openlora.tools.stop_run import stop_run
from openlora.tools.synthesize_data import synthesize_data
from openlora.trainer.config import ExportFormat
from openlora.trainer.rundir import RunDir, read_json


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class AttemptArgs(_Args):
    attempt: int = Field(..., ge=1, le=1000, description="Attempt number from the run's list.")


class PatchArgs(AttemptArgs):
    patch_id: str = Field(..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    learning_rate: float | None = Field(None, gt=0, le=1.0)
    max_grad_norm: float | None = Field(None, ge=0, le=100.0)


class RelaunchArgs(_Args):
    from_attempt: int = Field(..., ge=1, le=1000)
    learning_rate: float | None = Field(None, gt=0, le=1.0)
    warmup_steps: int | None = Field(None, ge=0, le=100_000)
    max_grad_norm: float | None = Field(None, ge=0, le=100.0)
    batch_size: int | None = Field(None, ge=1, le=1024)
    grad_accum: int | None = Field(None, ge=1, le=1024)
    max_seq_len: int | None = Field(None, ge=16, le=32768)
    gradient_checkpointing: bool | None = None
    max_steps: int | None = Field(None, ge=1, le=10_000_000)
    use_checkpoint: bool = True


class DatasetArgs(_Args):
    dataset_id: str = Field(..., min_length=1, max_length=32, pattern=r"^[a-z_]+$")


class RecallArgs(_Args):
    query: str = Field(..., min_length=1, max_length=500)
    k: int = Field(5, ge=1, le=20)
    model_family: str | None = Field(None, max_length=32)
    diagnosis: str | None = Field(None, max_length=32)


class ExportArgs(AttemptArgs):
    formats: list[ExportFormat] = Field(..., min_length=1, max_length=5)


class ScoreArgs(AttemptArgs):
    samples: int = Field(50, ge=1, le=500)


class SynthArgs(_Args):
    dataset_id: str = Field(..., min_length=1, max_length=32, pattern=r"^[a-z_]+$")
    n: int = Field(50, ge=1, le=10_000)


def build_tools(ctx: ToolContext, memory: IncidentMemory | None, advisor: Any = None) -> dict[str, BaseTool]:
    """The tool registry for one run."""

    def _relaunch(from_attempt: int, use_checkpoint: bool = True, **changes: Any) -> dict[str, Any]:
        changes = {k: v for k, v in changes.items() if v is not None}
        return relaunch_from_checkpoint(ctx, from_attempt, changes, use_checkpoint)

    def _patch(
        attempt: int, patch_id: str, learning_rate: float | None = None, max_grad_norm: float | None = None
    ) -> dict[str, Any]:
        return patch_hyperparams(
            ctx, attempt, patch_id, learning_rate=learning_rate, max_grad_norm=max_grad_norm
        )

    def _telemetry(attempt: int) -> dict[str, Any]:
        summary = read_telemetry(ctx, attempt)
        summary.pop("events")
        return summary

    def _launch(attempt: int) -> dict[str, Any]:
        spec = read_json(RunDir(ctx.existing_attempt(attempt)).spec)
        return launch_run(ctx, attempt, spec)

    specs = [
        (
            "launch_run",
            _launch,
            AttemptArgs,
            "Start (or reattach to) a planned attempt; never a second trainer.",
        ),
        (
            "read_telemetry",
            _telemetry,
            AttemptArgs,
            "Loss-curve summary, throughput and hardware of an attempt.",
        ),
        (
            "patch_hyperparams",
            _patch,
            PatchArgs,
            "Change lr or clipping of a running attempt (live, bounded).",
        ),
        (
            "relaunch_from_checkpoint",
            _relaunch,
            RelaunchArgs,
            "Start the next attempt with changed settings from the last good checkpoint.",
        ),
        (
            "stop_run",
            lambda attempt: stop_run(ctx, attempt),
            AttemptArgs,
            "Stop a running attempt (checkpointed).",
        ),
        (
            "inspect_dataset",
            lambda dataset_id: inspect_dataset(ctx, dataset_id),
            DatasetArgs,
            "Dataset statistics, problems and quoted samples.",
        ),
        (
            "recall_incidents",
            lambda **kw: recall_incidents(memory, **kw),
            RecallArgs,
            "Similar past incidents and the fixes that worked.",
        ),
        (
            "export_model",
            lambda attempt, formats: export_model(ctx, attempt, list(formats)),
            ExportArgs,
            "Export an attempt; GGUF files are checked in llama.cpp first.",
        ),
        (
            "synthesize_data",
            lambda dataset_id, n=50: synthesize_data(ctx, advisor, dataset_id, n),
            SynthArgs,
            "Generate more training pairs from a dataset, through the quality gate.",
        ),
        (
            "score_outputs",
            lambda attempt, samples=50: score_outputs(ctx, attempt, samples),
            ScoreArgs,
            "Score the adapter against its base on held-out pairs (accuracy, alignment, hallucination).",
        ),
    ]
    return {
        name: StructuredTool.from_function(func=func, name=name, description=description, args_schema=schema)
        for name, func, schema, description in specs
    }
