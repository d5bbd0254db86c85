"""``export_model``: export an attempt in the goal's formats (each GGUF checked before publishing)."""

from __future__ import annotations

from typing import Any

from openlora.tools.context import ToolContext


def export_model(ctx: ToolContext, attempt: int, formats: list[str]) -> dict[str, Any]:
    from openlora.trainer.export.exporter import export_run

    entries = export_run(ctx.existing_attempt(attempt), formats)
    return {
        name: {"path": e["path"], "check": e.get("check") or e.get("checks")} for name, e in entries.items()
    }
