"""The SQLite connection and the writer lock shared by the registry and the incident memory.

SQLite runs in WAL mode so readers never block; writers (from any process) take an exclusive
``fcntl`` lock on ``memory.lock`` first, which also serialises writes to the Chroma index.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from openlora.memory.home import openlora_home
from openlora.memory.migrations import migrate


class MemoryStore:
    """Paths, connection and lock for one OPENLORA_HOME."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or openlora_home()
        self.home.mkdir(parents=True, exist_ok=True)
        self.db_path = self.home / "registry.sqlite3"
        self.chroma_path = self.home / "chroma"
        self.lock_path = self.home / "memory.lock"
        with self.writer():
            self.db = self._connect()
            migrate(self.db)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.db_path, timeout=60, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=60000")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    @contextlib.contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the cross-process writer lock."""
        with self.lock_path.open("a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def close(self) -> None:
        self.db.close()
