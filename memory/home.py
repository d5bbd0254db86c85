"""Where OpenLoRA keeps what outlives a run: ``OPENLORA_HOME`` (default ``~/.openlora``).

Layout: ``registry.sqlite3`` (runs, attempts, decisions, incidents — the source of truth),
``chroma/`` (the incident vector index, rebuildable from SQLite) and ``memory.lock`` (one writer at
a time). The folder is created on first use.
"""

from __future__ import annotations

import os
from pathlib import Path


def openlora_home() -> Path:
    """The home folder, created if missing."""
    home = Path(os.environ.get("OPENLORA_HOME") or Path.home() / ".openlora").expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home
