"""The core objects a front uses, built lazily and shared by its threads: advisor, registry, memory.

What it is for: the TUI and the web page ask for the advisor (llama.cpp), the run registry (SQLite) and
the incident memory (Chroma + MiniLM) here; each is the class ``openlora-agent run`` uses, built on
first use (loading takes seconds, so fronts ask from worker threads or request handlers, never while
drawing) and then shared. :meth:`Services.playground` keeps the playground engine of the attempt
last chatted with (one loaded model pair at a time) and a lock that lets one generation run at once.
What it is not for: settings (each front has its own: ``tui.services.TuiSettings``,
``web.settings.WebSettings``, both with an ``advisor_model``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any


class Services:
    """Lazily built core objects, safe to request from several threads."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._engine_lock = threading.Lock()
        self.generation = threading.Lock()  # held while the playground generates
        self._advisor: Any = None
        self._registry: Any = None
        self._memory: Any = None
        self._playground: tuple[Path, Any] | None = None

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

    def playground(self, attempt_dir: Path) -> Any:
        """The engine of ``attempt_dir``, loaded on first use (``PlaygroundError``: no trained adapter)."""
        from openlora.evaluation.playground import Playground

        with self._engine_lock:
            if self._playground is None or self._playground[0] != attempt_dir:
                self._playground = None  # free the previous models before loading the next
                self._playground = (attempt_dir, Playground(attempt_dir))
            return self._playground[1]
