"""``export_model``: export an attempt in the goal's formats (each GGUF checked before publishing)."""

from typing import Annotated, Any

from pydantic import Field

from openlora.tools.context import RunContext
from openlora.tools.settings import AttemptNumber
from openlora.trainer.config import ExportFormat


def export_model(
    ctx: RunContext,
    attempt: AttemptNumber,
    formats: Annotated[list[ExportFormat], Field(min_length=1, max_length=5)],
) -> dict[str, Any]:
    """Export the attempt's adapter in these formats; every GGUF is checked in llama.cpp first."""
    from openlora.trainer.export.exporter import export_run

    entries = export_run(ctx.existing_attempt(attempt), list(formats))
    return {
        name: {"path": e["path"], "check": e.get("check") or e.get("checks")} for name, e in entries.items()
    }
