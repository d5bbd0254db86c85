"""Messages that worker threads post to the TUI (they never touch widgets themselves)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.message import Message


@dataclass
class ChatReply(Message):
    """Text for the chat pane; ``facts`` are quoted records shown under it."""

    text: str
    facts: list[str]
    author: str = "openlora"


@dataclass
class DraftReady(Message):
    """A new or adjusted goal draft for the draft editor."""

    text: str
    name: str
    notes: list[str]


@dataclass
class RunStarted(Message):
    root: Path


@dataclass
class TimelineLine(Message):
    """One line of the supervisor's timeline (``[node] text``)."""

    line: str


@dataclass
class RunFinished(Message):
    root: Path
    outcome: str
    final: dict[str, Any]
