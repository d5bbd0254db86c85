"""What the TUI's screens share: settings, and the core objects, created lazily in worker threads.

The advisor (llama.cpp), the incident memory (Chroma + MiniLM) and the registry (SQLite) are the
same classes ``openlora-agent run`` uses; loading them takes seconds, so screens ask for them from
``@work(thread=True)`` workers, never from the event loop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openlora.trainer.config import EMBEDDED_BASE


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


class Services:
    """Lazily built core objects, safe to request from several worker threads."""

    def __init__(self, settings: TuiSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._advisor: Any = None
        self._registry: Any = None
        self._memory: Any = None

    @property
    def advisor(self) -> Any:
        with self._lock:
            if self._advisor is None:
                from openlora.advisor.client import Advisor

                self._advisor = Advisor(self.settings.advisor_model, max_tokens=120)
            return self._advisor

    @property
    def registry(self) -> Any:
        with self._lock:
            if self._registry is None:
                from openlora.memory.registry import RunRegistry

                self._registry = RunRegistry()
            return self._registry

    @property
    def memory(self) -> Any:
        with self._lock:
            if self._memory is None:
                from openlora.memory.incidents import IncidentMemory

                self._memory = IncidentMemory()
            return self._memory
