"""SQLite schema as an append-only list of migrations (never edit one that has shipped; add one).

Each migration is a function taking a connection; ``migrate`` applies the ones not yet recorded in
``_migrations``, in order, each in its own transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []


def migration(func: Migration) -> Migration:
    MIGRATIONS.append(func)
    return func


@migration
def m001_runs_attempts_decisions(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            goal TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            status TEXT NOT NULL,
            base_model TEXT,
            model_family TEXT,
            dataset_path TEXT,
            dataset_fingerprint TEXT,
            dataset_stats TEXT,
            config TEXT,
            final_metrics TEXT,
            exports TEXT
        );
        CREATE TABLE attempts (
            run_id TEXT NOT NULL REFERENCES runs(id),
            number INTEGER NOT NULL,
            run_dir TEXT NOT NULL,
            config TEXT NOT NULL,
            status TEXT NOT NULL,
            message TEXT,
            started_at REAL NOT NULL,
            ended_at REAL,
            final_metrics TEXT,
            PRIMARY KEY (run_id, number)
        );
        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL REFERENCES runs(id),
            attempt INTEGER,
            created_at REAL NOT NULL,
            diagnosis TEXT,
            action TEXT NOT NULL,
            arguments TEXT,
            reason TEXT,
            source TEXT NOT NULL
        );
        CREATE INDEX decisions_run ON decisions(run_id);
        """
    )


@migration
def m002_incidents(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        CREATE TABLE incidents (
            id TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            run_id TEXT,
            attempt INTEGER,
            diagnosis TEXT NOT NULL,
            model_family TEXT NOT NULL,
            signature TEXT NOT NULL,
            error_tail TEXT,
            dataset_stats TEXT,
            config TEXT,
            fix TEXT,
            fix_key TEXT,
            outcome TEXT NOT NULL DEFAULT 'pending',
            outcome_at REAL,
            embedding BLOB NOT NULL
        );
        CREATE INDEX incidents_diagnosis ON incidents(diagnosis);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta (key, value) VALUES ('index_generation', '0');
        """
    )


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply pending migrations; returns the names applied."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    applied = []
    for func in MIGRATIONS:
        if func.__name__ in done:
            continue
        with db:
            func(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (func.__name__, time.time())
            )
        applied.append(func.__name__)
    return applied
