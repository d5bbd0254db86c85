"""A request in plain words → a structured :class:`Intent`, through constrained decoding.

The advisor answers against a JSON schema (enums for the kind of request, the setting and the
direction; short strings for the dataset, the task and the run), so its output always has the right
shape. Python then checks it against the request itself: a dataset or run the advisor names must
appear in the request's words (a small model may invent one), and the kind must agree with clear
cues in the text (a path that exists means tuning, a question mark about a run means a question).
Where the advisor's answer fails a check, the cue wins and :attr:`Intent.corrections` says so.

This module does not draft goals (``drafts``) or answer questions (``answers``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from openlora.prompts import quote_data, render

Kind = Literal["tune", "question", "adjust", "help"]
KINDS: tuple[str, ...] = ("tune", "question", "adjust", "help")
SETTINGS: tuple[str, ...] = ("none", "learning_rate", "max_steps", "batch_size", "max_seq_len")
DIRECTIONS: tuple[str, ...] = ("none", "lower", "higher")
MAX_REQUEST_CHARS = 1000

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": list(KINDS)},
        "dataset": {"type": "string", "maxLength": 120},
        "task": {"type": "string", "maxLength": 160},
        "setting": {"type": "string", "enum": list(SETTINGS)},
        "direction": {"type": "string", "enum": list(DIRECTIONS)},
        "run": {"type": "string", "maxLength": 40},
    },
    "required": ["kind", "dataset", "task", "setting", "direction", "run"],
    "additionalProperties": False,
}

EXAMPLES: list[tuple[str, dict[str, str]]] = [
    (
        "fine-tune on data/tickets.jsonl so it answers support tickets",
        {
            "kind": "tune",
            "dataset": "data/tickets.jsonl",
            "task": "answer support tickets",
            "setting": "none",
            "direction": "none",
            "run": "",
        },
    ),
    (
        "why did run 2 fail?",
        {"kind": "question", "dataset": "", "task": "", "setting": "none", "direction": "none", "run": "2"},
    ),
    (
        "use a bigger batch",
        {
            "kind": "adjust",
            "dataset": "",
            "task": "",
            "setting": "batch_size",
            "direction": "higher",
            "run": "",
        },
    ),
]

_PATH = re.compile(r"(?:~|\.{1,2})?/?[\w.\-]+(?:/[\w.\-]+)*\.(?:jsonl|json|csv|tsv|parquet|txt|log)\b")
_RUN = re.compile(r"\brun\s+#?([\w.\-]+)", re.IGNORECASE)
_QUESTION = re.compile(r"^\s*(why|what|how|when|which|did|was|were|show|list|tell)\b", re.IGNORECASE)
_CUES = {
    "learning_rate": re.compile(r"\b(lr|learning[ -]rate)\b", re.IGNORECASE),
    "max_steps": re.compile(r"\b(steps?|train (longer|shorter))\b", re.IGNORECASE),
    "batch_size": re.compile(r"\bbatch\b", re.IGNORECASE),
    "max_seq_len": re.compile(r"\b(seq(uence)?[ -]?len(gth)?|context)\b", re.IGNORECASE),
}
_LOWER = re.compile(r"\b(smaller|lower|less|reduce|decrease|fewer|shorter|halve)\b", re.IGNORECASE)
_HIGHER = re.compile(r"\b(bigger|larger|higher|more|increase|raise|longer|double)\b", re.IGNORECASE)


class IntentError(ValueError):
    """The request cannot be understood; the message says what is missing."""


@dataclass
class Intent:
    """What the person asked for, checked against their words."""

    kind: Kind
    request: str
    dataset: Path | None = None
    task: str = ""
    setting: str = "none"
    direction: str = "none"
    run: str = ""
    source: str = "advisor"  # "advisor", or "rules" when the advisor's answer was overruled
    corrections: list[str] = field(default_factory=list)


def intent_messages(request: str) -> list[dict[str, str]]:
    """The chat sent to the advisor: instructions (prompts/intent.txt), three worked examples, the request."""
    system = render("intent").removesuffix("\n")  # the template file's final newline is not part of it
    messages = [{"role": "system", "content": system}]
    for text, answer in EXAMPLES:
        messages.append({"role": "user", "content": quote_data(text)})
        messages.append({"role": "assistant", "content": json.dumps(answer)})
    messages.append({"role": "user", "content": quote_data(request)})
    return messages


def _existing_path(token: str, cwd: Path) -> Path | None:
    path = Path(token).expanduser()
    path = path if path.is_absolute() else cwd / path
    return path.resolve() if path.is_file() else None


def _cued_kind(request: str, dataset: Path | None, setting: str) -> str | None:
    if dataset is not None:
        return "tune"
    if _RUN.search(request) and (request.rstrip().endswith("?") or _QUESTION.search(request)):
        return "question"
    if setting != "none":
        return "adjust"
    if request.rstrip().endswith("?") or _QUESTION.search(request):
        return "question"
    return None


def _cued_setting(request: str) -> tuple[str, str]:
    setting = next((name for name, cue in _CUES.items() if cue.search(request)), "none")
    direction = "lower" if _LOWER.search(request) else "higher" if _HIGHER.search(request) else "none"
    return setting, direction if setting != "none" else "none"


def check_intent(raw: str | dict[str, Any], request: str, cwd: Path) -> Intent:
    """Validate the advisor's JSON against the schema's enums and against the request's own words."""
    corrections: list[str] = []
    try:
        data = json.loads(raw) if isinstance(raw, str) else dict(raw)
        if not isinstance(data, dict):
            raise TypeError("not an object")
    except (ValueError, TypeError) as exc:
        data = {}
        corrections.append(f"the advisor's answer was not JSON ({exc})")
    kind = data.get("kind") if data.get("kind") in KINDS else None
    setting = data.get("setting") if data.get("setting") in SETTINGS else "none"
    direction = data.get("direction") if data.get("direction") in DIRECTIONS else "none"

    dataset = None
    named = str(data.get("dataset") or "").strip()
    if named and named in request:
        dataset = _existing_path(named, cwd)
    if dataset is None:
        found = [p for p in (_existing_path(m.group(0), cwd) for m in _PATH.finditer(request)) if p]
        if named and found:
            corrections.append(f"dataset {named!r} is not a file named in the request; using {found[0]}")
        dataset = found[0] if found else None

    run = str(data.get("run") or "").strip()
    invented_run = bool(run) and not re.search(rf"\b{re.escape(run)}\b", request)
    if invented_run:
        run = ""
    if not run and (match := _RUN.search(request)):
        run = match.group(1).rstrip("?.!,")

    cued_setting, cued_direction = _cued_setting(request)
    if cued_setting != "none" and (setting, direction) != (cued_setting, cued_direction):
        corrections.append(f"setting {setting}/{direction} → {cued_setting}/{cued_direction}")
    setting, direction = cued_setting, cued_direction  # a setting must be named in the words
    cued = _cued_kind(request, dataset, setting)
    if cued is not None and kind != cued:
        corrections.append(f"kind {kind!r} → {cued!r} (the request's words say so)")
        kind = cued
    if kind is None:
        kind = "help"
    if invented_run and kind == "question":
        corrections.append(f"run {data.get('run')!r} is not named in the request")
    if kind == "tune" and dataset is None:
        kind = "help"
        corrections.append("no existing data file is named in the request")
    task = str(data.get("task") or "").strip()
    if kind == "tune" and (not task or task not in request):
        task = request.strip()
    return Intent(
        kind=kind,  # type: ignore[arg-type]
        request=request,
        dataset=dataset,
        task=task[:300],
        setting=setting,
        direction=direction,
        run=run,
        source="rules" if corrections else "advisor",
        corrections=corrections,
    )


def parse_request(advisor: Any, request: str, cwd: Path | None = None) -> Intent:
    """Ask the advisor (constrained to :data:`SCHEMA`) what ``request`` means, then check its answer."""
    request = request.strip()
    if not request:
        raise IntentError("the request is empty")
    if len(request) > MAX_REQUEST_CHARS:
        raise IntentError(f"the request is {len(request)} characters; keep it under {MAX_REQUEST_CHARS}")
    raw = advisor.complete_json(intent_messages(request), SCHEMA)
    return check_intent(raw, request, cwd or Path.cwd())
