"""The run registry: runs, their attempts, exports and the agent's decisions, in SQLite.

This is the source of truth for ``openlora-agent history`` and for the supervisor's bookkeeping.
A run can be recorded straight from its run directory (spec.json, result.json, metrics.jsonl),
which is what the CLI does after ``train`` and ``resume``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openlora.memory.store import MemoryStore
from openlora.trainer.result import RunResult
from openlora.trainer.rundir import RunDir, read_events, read_json, run_start, sha256_file


@dataclass(frozen=True)
class RunSummary:
    """One row of ``history``."""

    id: str
    name: str
    status: str
    attempts: int
    created_at: float
    base_model: str | None
    final_metrics: dict[str, float]
    run_dir: str | None


def fingerprint(path: str | Path) -> str | None:
    """SHA-256 of a dataset file, or None when it is gone."""
    file = Path(path)
    return sha256_file(file) if file.is_file() else None


class RunRegistry:
    """Reads and writes runs, attempts and decisions; ``store`` is injectable."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()

    def upsert_run(self, run_id: str, name: str, status: str, **fields: Any) -> None:
        now = time.time()
        columns = {
            k: (json.dumps(v, default=str) if isinstance(v, (dict, list)) else v) for k, v in fields.items()
        }
        with self.store.writer():
            db = self.store.db
            exists = db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone()
            if exists:
                sets = "".join(f", {k} = ?" for k in columns)
                db.execute(
                    f"UPDATE runs SET name = ?, status = ?, updated_at = ?{sets} WHERE id = ?",
                    (name, status, now, *columns.values(), run_id),
                )
            else:
                keys = ["id", "name", "status", "created_at", "updated_at", *columns]
                db.execute(
                    f"INSERT INTO runs ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})",
                    (run_id, name, status, now, now, *columns.values()),
                )

    def record_attempt(
        self,
        run_id: str,
        number: int,
        run_dir: str,
        config: dict[str, Any],
        status: str,
        message: str,
        started_at: float,
        ended_at: float | None,
        final_metrics: dict[str, Any],
    ) -> None:
        with self.store.writer():
            self.store.db.execute(
                "INSERT OR REPLACE INTO attempts (run_id, number, run_dir, config, status, message, "
                "started_at, ended_at, final_metrics) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    number,
                    run_dir,
                    json.dumps(config, default=str),
                    status,
                    message,
                    started_at,
                    ended_at,
                    json.dumps(final_metrics),
                ),
            )

    def record_decision(
        self,
        run_id: str,
        attempt: int | None,
        action: str,
        arguments: dict[str, Any],
        reason: str,
        source: str,
        diagnosis: str | None = None,
    ) -> None:
        with self.store.writer():
            self.store.db.execute(
                "INSERT INTO decisions (run_id, attempt, created_at, diagnosis, action, arguments, reason, "
                "source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    attempt,
                    time.time(),
                    diagnosis,
                    action,
                    json.dumps(arguments, default=str),
                    reason,
                    source,
                ),
            )

    def record_run_dir(self, root: Path, goal: str | None = None) -> str:
        """Record a trainer run directory as a run with one attempt; returns the run id."""
        run_dir = RunDir(root)
        spec = read_json(run_dir.spec)
        result = RunResult.read(run_dir.result) if run_dir.result.exists() else None
        status = result.status.value if result else "running"
        final_metrics = result.final_metrics if result else {}
        events = read_events(run_dir.metrics)
        start = run_start(events)
        run_id = root.resolve().name
        exports = sorted(read_json(run_dir.manifest).get("formats", {})) if run_dir.manifest.exists() else []
        self.upsert_run(
            run_id,
            spec.get("name", run_id),
            status,
            goal=goal,
            base_model=start.get("base_model") or spec.get("base_model"),
            model_family=start.get("model_type"),
            dataset_path=spec.get("dataset"),
            dataset_fingerprint=fingerprint(spec["dataset"]) if spec.get("dataset") else None,
            dataset_stats=start.get("dataset") or {},
            config=spec,
            final_metrics=final_metrics,
            exports=exports,
        )
        self.record_attempt(
            run_id,
            1,
            str(root.resolve()),
            spec,
            status,
            result.message if result else "",
            events[0]["time"] if events else time.time(),
            result.ended_at if result else None,
            final_metrics,
        )
        return run_id

    def history(self, limit: int = 50) -> list[RunSummary]:
        rows = self.store.db.execute(
            "SELECT r.*, (SELECT COUNT(*) FROM attempts a WHERE a.run_id = r.id) AS n_attempts, "
            "(SELECT run_dir FROM attempts a WHERE a.run_id = r.id ORDER BY number DESC LIMIT 1) AS last_dir "
            "FROM runs r ORDER BY r.created_at DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            RunSummary(
                id=r["id"],
                name=r["name"],
                status=r["status"],
                attempts=r["n_attempts"],
                created_at=r["created_at"],
                base_model=r["base_model"],
                final_metrics=json.loads(r["final_metrics"] or "{}"),
                run_dir=r["last_dir"],
            )
            for r in rows
        ]

    def decisions(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.store.db.execute(
            "SELECT * FROM decisions WHERE run_id = ? ORDER BY id", (run_id,)
        ).fetchall()
        return [dict(r) | {"arguments": json.loads(r["arguments"] or "{}")} for r in rows]

    def attempts(self, run_id: str) -> list[dict[str, Any]]:
        """The attempts of one run, in order, with their config and final metrics decoded."""
        rows = self.store.db.execute(
            "SELECT * FROM attempts WHERE run_id = ? ORDER BY number", (run_id,)
        ).fetchall()
        return [
            dict(r)
            | {
                "config": json.loads(r["config"] or "{}"),
                "final_metrics": json.loads(r["final_metrics"] or "{}"),
            }
            for r in rows
        ]
