"""What the TUI's screens share: settings, and the core objects (``ui_core.services``), built lazily.

The advisor (llama.cpp), the incident memory (Chroma + MiniLM) and the registry (SQLite) are the
same classes ``openlora-agent run`` uses; loading them takes seconds, so screens ask for them from
``@work(thread=True)`` workers, never from the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openlora.trainer.config import EMBEDDED_BASE
from openlora.ui_core.services import Services

__all__ = ["Services", "TuiSettings"]


@dataclass
class TuiSettings:
    """Where runs go and what drafts start from (tests point ``base_model`` at a tiny model)."""

    runs: Path = Path("runs")
    cwd: Path = field(default_factory=Path.cwd)
    base_model: str = EMBEDDED_BASE
    training: dict[str, Any] = field(default_factory=dict)
    approval: str = "ask"
    advisor_model: str = EMBEDDED_BASE
    poll_s: float = 0.5
