"""``score_outputs``: evaluate an attempt's adapter against its base on the held-out pairs."""

from __future__ import annotations

from typing import Any

from openlora.tools.context import ToolContext


def score_outputs(
    ctx: ToolContext,
    attempt: int,
    samples: int = 50,
    json_output: bool = False,
    labels: list[str] | None = None,
) -> dict[str, Any]:
    """Accuracy, alignment, fluency and hallucination rate for adapter and base (summary only)."""
    from openlora.evaluation.engine import FormatChecks, evaluate_run

    report = evaluate_run(
        ctx.existing_attempt(attempt), True, samples, 48, FormatChecks(json_output, labels or [])
    )
    return {"samples": report["samples"], "summary": report["summary"]}
