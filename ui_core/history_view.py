"""The registry's runs and the incident memory's hits as table rows of text, for any front.

What it is for: the web page's History & incidents tab fills its tables with :func:`history_rows`
(``chat.answers.numbered_history``: the numbers ``why did run 3 fail?`` uses) and
:func:`incident_rows` (``IncidentMemory.search`` / ``recent``), with the column names beside them;
a run's facts come from ``chat.answers.answer_question``, as in the TUI.
What it is not for: querying (the registry and memory classes) or drawing tables.
"""

from __future__ import annotations

import time
from typing import Any

HISTORY_COLUMNS = ["#", "run", "status", "attempts", "val loss", "started"]
INCIDENT_COLUMNS = ["incident", "diagnosis", "fix", "outcome", "run", "similarity"]


def when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def history_rows(numbered: list[tuple[int, Any]]) -> list[list[str]]:
    """``numbered_history``'s runs, one row each (newest first)."""
    rows = []
    for number, run in numbered:
        val = run.final_metrics.get("val_loss")
        shown = f"{val:.4f}" if isinstance(val, int | float) else "—"
        rows.append([str(number), run.id, run.status, str(run.attempts), shown, when(run.created_at)])
    return rows


def incident_rows(found: list[tuple[Any, float | None]]) -> list[list[str]]:
    """(incident, similarity) pairs, one row each; the similarity is blank for a plain listing."""
    rows = []
    for incident, similarity in found:
        fix = f"{incident.fix.action} {incident.fix.changes}" if incident.fix else "—"
        score = f"{similarity:.2f}" if similarity is not None else ""
        rows.append(
            [
                incident.id[:12],
                incident.diagnosis.value,
                fix,
                incident.outcome.value,
                incident.run_id or "—",
                score,
            ]
        )
    return rows
