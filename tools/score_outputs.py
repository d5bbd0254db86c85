"""``score_outputs``: evaluate an attempt's adapter against its base on the held-out pairs."""

from typing import Annotated, Any

from pydantic import Field

from openlora.tools.context import RunContext
from openlora.tools.settings import AttemptNumber

MAX_NEW_TOKENS = 48


def score_outputs(
    ctx: RunContext,
    attempt: AttemptNumber,
    samples: Annotated[int, Field(ge=1, le=10_000, description="Held-out pairs to score.")] = 50,
    json_output: Annotated[bool, Field(description="Outputs must be valid JSON.")] = False,
    labels: Annotated[list[str] | None, Field(max_length=50, description="Allowed output labels.")] = None,
    checks: Annotated[
        list[str] | None, Field(max_length=20, description="Pack checks outputs must pass, 'pack.check'.")
    ] = None,
) -> dict[str, Any]:
    """Score the adapter against its base on held-out pairs: accuracy, alignment, fluency, hallucination."""
    from openlora.evaluation.engine import FormatChecks, evaluate_run
    from openlora.synthesis.packs.registry import installed

    extra = [installed().check(name).passes for name in checks or []]
    report = evaluate_run(
        ctx.existing_attempt(attempt),
        True,
        samples,
        MAX_NEW_TOKENS,
        FormatChecks(json_output, labels or [], extra),
    )
    return {"samples": report["samples"], "summary": report["summary"]}
