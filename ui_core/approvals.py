"""A proposal waiting for approval, in words, and the person's answer as a verdict: for every front.

What it is for: :func:`describe` says what the supervisor proposes (the attempt, the diagnosis, the fix,
why, and the bounds an edit must keep) the same way in the TUI's dialog and on the web page;
:func:`verdict_of` turns the buttons and fields of either front (approve / edit with the settings as
JSON / veto, and a note) into the verdict dict that ``approval_desk.answer`` writes. The supervisor
still checks every verdict (``agent.approval``); nothing here applies one.
What it is not for: carrying answers between processes (``agent.approval_desk``) or drawing anything.
"""

from __future__ import annotations

import json
from typing import Any

NOTE_CHARS = 300  # as agent.approval.Verdict.note


class VerdictError(ValueError):
    """The fields cannot make a verdict (the edited settings are not a JSON object)."""


def describe(question: dict[str, Any]) -> str:
    """The proposal in a few lines of plain text (untrusted: show it as text)."""
    lines = [
        f"Attempt {question['attempt']} ended: {question['diagnosis']}.",
        f"Proposed: {question['action']} {json.dumps(question['changes'])}",
        f"Why: {question['reason']} [{question['source']}]",
    ]
    bounds = question.get("bounds", {}).get("learning_rate")
    if bounds:
        lines.append(f"An edited learning_rate must stay within {bounds[0]:.3g} – {bounds[1]:.3g}.")
    return "\n".join(lines)


def verdict_of(choice: str, changes_text: str = "", note: str = "") -> dict[str, Any]:
    """The verdict for ``choice`` (approve, edit, veto); an edit reads its settings from ``changes_text``."""
    note = note.strip()[:NOTE_CHARS]
    if choice in ("approve", "veto"):
        return {"choice": choice, "note": note}
    if choice != "edit":
        raise VerdictError(f"unknown choice {choice!r}: approve, edit or veto")
    try:
        changes = json.loads(changes_text)
    except ValueError as exc:
        raise VerdictError(f"the settings are not JSON: {exc}") from None
    if not isinstance(changes, dict):
        raise VerdictError('the settings must be a JSON object, e.g. {"learning_rate": 0.001}')
    return {"choice": "edit", "changes": changes, "note": note}
