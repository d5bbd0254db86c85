"""A request in words becomes a goal draft (or adjusts the current one), as the TUI's chat does it.

What it is for: a front with a "describe it in words" box calls :func:`draft_from_words`: the advisor
reads the request under a JSON schema (``chat.intent.parse_request``, checked against the words), a
``tune`` request becomes the same draft as in the TUI (``chat.drafts.draft_goal``, a ``.log`` imported
first), an ``adjust`` request ("try a smaller lr") moves one setting of the current draft
(``chat.drafts.adjust_draft``). Anything else is answered with what the box can do.
What it is not for: validating or saving the draft (``chat.drafts.save_draft``), or answering
questions about runs (the History tab, ``chat.answers``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HINT = (
    "Name an uploaded file and what the model should do, e.g. 'tune on data.jsonl so it answers "
    "support tickets', or adjust the draft: 'try a smaller lr', 'train for more steps'."
)


@dataclass
class WordsReply:
    """The draft (unchanged when ``error`` says why not) and what was understood."""

    text: str
    name: str
    message: str
    notes: list[str] = field(default_factory=list)
    error: bool = False


def draft_from_words(
    advisor: Any,
    request: str,
    current: tuple[str, str],
    cwd: Path,
    data_dir: Path,
    defaults: dict[str, Any],
) -> WordsReply:
    """The draft for ``request``; ``current`` is the draft's (text, name); ``defaults`` hold the base
    model, training overrides and approval policy new drafts start from (``draft_goal``'s arguments)."""
    from openlora.agent.goal import GoalError
    from openlora.chat.drafts import adjust_draft, draft_goal
    from openlora.chat.intent import IntentError, parse_request

    text, name = current
    try:
        intent = parse_request(advisor, request, cwd)
    except IntentError as exc:
        return WordsReply(text, name, str(exc), error=True)
    notes = [f"understood as {intent.kind}; checked: {c}" for c in intent.corrections]
    try:
        if intent.kind == "tune":
            draft = draft_goal(intent, data_dir, **defaults)
            return WordsReply(draft.text, draft.name, f"drafted goal '{draft.name}'", notes + draft.notes)
        if intent.kind == "adjust":
            if not text.strip():
                return WordsReply(text, name, "there is no draft to adjust yet", notes, error=True)
            new_text, change = adjust_draft(text, intent)
            return WordsReply(new_text, name, f"draft adjusted: {change}", notes)
    except GoalError as exc:
        return WordsReply(text, name, str(exc), notes, error=True)
    return WordsReply(text, name, HINT, notes, error=True)
