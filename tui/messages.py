"""Messages that worker threads post to the TUI (they never touch widgets themselves)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from openlora.agent.state import GoalRun


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
class RunFinished(Message):
    """A goal run ended: its outcome and final record, or ``outcome`` "error" and why it stopped."""

    root: Path
    outcome: str
    final: GoalRun | None = None
    error: str = ""
