"""``recall_incidents``: similar past incidents and the fixes that worked on them."""

from __future__ import annotations

from typing import Any

from openlora.memory.incidents import IncidentMemory


def recall_incidents(
    memory: IncidentMemory | None,
    query: str,
    k: int = 5,
    model_family: str | None = None,
    diagnosis: str | None = None,
) -> dict[str, Any]:
    """Top-k incidents (with similarity) and ranked fixes; empty when memory is off."""
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
