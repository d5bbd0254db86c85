"""``recall_incidents``: similar past incidents and the fixes that worked on them."""

from typing import Annotated, Any

from pydantic import Field

from openlora.tools.context import RunContext


def recall_incidents(
    ctx: RunContext,
    query: Annotated[str, Field(min_length=1, max_length=500, description="What happened, in words.")],
    k: Annotated[int, Field(ge=1, le=20)] = 5,
    model_family: Annotated[str | None, Field(max_length=32)] = None,
    diagnosis: Annotated[str | None, Field(max_length=32)] = None,
) -> dict[str, Any]:
    """Similar past incidents (with similarity) and the fixes ranked by how often they worked."""
    memory = ctx.memory
    if memory is None or memory.count() == 0:
        return {"incidents": [], "fixes": []}
    hits = memory.search(query, k, model_family, diagnosis)
    fixes = memory.rank_fixes(query, max(k, 20), model_family, diagnosis)
    return {
        "incidents": [
            {
                "id": h.incident.id,
                "similarity": round(h.similarity, 3),
                "diagnosis": h.incident.diagnosis.value,
                "config": h.incident.config,
                "fix": h.incident.fix.to_json() if h.incident.fix else None,
                "outcome": h.incident.outcome.value,
            }
            for h in hits
        ],
        "fixes": [
            {"fix": f.fix.to_json(), "score": round(f.score, 3), "worked": f.worked, "failed": f.failed}
            for f in fixes
        ],
    }
