"""Incident memory: remember failures and fixes, find similar ones, rank fixes by what worked.

SQLite (through :class:`MemoryStore`) is the source of truth and keeps every incident with its
embedding; Chroma (:class:`ChromaIndex`) is the search index and is rebuilt from SQLite whenever it
is missing, unreadable or out of step. Writers from any number of processes are serialised by the
store's lock, and incident ids are unique, so nothing is lost or duplicated.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from openlora.memory import embedder
from openlora.memory.index import ChromaIndex
from openlora.memory.records import (
    OUTCOME_WEIGHT,
    Diagnosis,
    Fix,
    Incident,
    IncidentHit,
    Outcome,
    RankedFix,
)
from openlora.memory.signature import Symptom
from openlora.memory.store import MemoryStore


@dataclass
class NewIncident:
    """What a caller knows when a failure happens."""

    symptom: Symptom
    fix: Fix | None = None
    run_id: str | None = None
    attempt: int | None = None
    config: dict[str, Any] = field(default_factory=dict)
    id: str | None = None  # give a stable id to make recording idempotent (a retried step adds nothing)


class IncidentMemory:
    """Store, search and rank incidents; ``store`` and ``index`` are injectable for tests."""

    def __init__(self, store: MemoryStore | None = None, index: ChromaIndex | None = None) -> None:
        self.store = store or MemoryStore()
        self.index = index or ChromaIndex(self.store.chroma_path)
        self.rebuilt_because: str | None = None
        problem = self.index.problem(self.count())
        if problem is not None:
            self.rebuilt_because = problem
            self.rebuild()

    # ----------------------------------------------------------------- writing
    def add(self, new: NewIncident) -> Incident:
        return self.add_many([new])[0]

    def add_many(self, items: Sequence[NewIncident]) -> list[Incident]:
        """Embed, insert into SQLite and index in Chroma, under the writer lock."""
        signatures = [item.symptom.signature() for item in items]
        vectors = embedder.embed(signatures)
        now = time.time()
        incidents = []
        for item, signature in zip(items, signatures, strict=True):
            symptom = item.symptom
            incidents.append(
                Incident(
                    id=item.id or uuid.uuid4().hex,
                    diagnosis=Diagnosis(symptom.diagnosis),
                    model_family=symptom.model_family,
                    signature=signature,
                    created_at=now,
                    run_id=item.run_id,
                    attempt=item.attempt,
                    error_tail=symptom.error_tail[-2000:],
                    dataset_stats=symptom.dataset_stats,
                    config=item.config or symptom.config,
                    fix=item.fix,
                )
            )
        rows = [
            (
                i.id,
                i.created_at,
                i.run_id,
                i.attempt,
                i.diagnosis.value,
                i.model_family,
                i.signature,
                i.error_tail,
                json.dumps(i.dataset_stats),
                json.dumps(i.config, default=str),
                json.dumps(i.fix.to_json()) if i.fix else None,
                i.fix.key if i.fix else None,
                i.outcome.value,
                vector.astype(np.float32).tobytes(),
            )
            for i, vector in zip(incidents, vectors, strict=True)
        ]
        with self.store.writer():
            db = self.store.db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT OR IGNORE INTO incidents (id, created_at, run_id, attempt, diagnosis, "
                    "model_family, signature, error_tail, dataset_stats, config, fix, fix_key, outcome, "
                    "embedding) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self.index.upsert([i.id for i in incidents], vectors, [_metadata(i) for i in incidents])
            self._bump_generation()
        return incidents

    def update_outcome(self, incident_id: str, outcome: Outcome) -> None:
        """Record what the fix did once the retry ended."""
        with self.store.writer():
            cursor = self.store.db.execute(
                "UPDATE incidents SET outcome = ?, outcome_at = ? WHERE id = ?",
                (Outcome(outcome).value, time.time(), incident_id),
            )
        if cursor.rowcount != 1:
            raise KeyError(f"no incident {incident_id!r}")

    def rebuild(self) -> int:
        """Recreate the Chroma index from SQLite (no re-embedding: vectors are stored there)."""
        with self.store.writer():
            self.index.wipe()
            rows = self.store.db.execute(
                "SELECT id, diagnosis, model_family, embedding FROM incidents ORDER BY created_at, id"
            ).fetchall()
            if rows:
                vectors = np.stack([np.frombuffer(r["embedding"], dtype=np.float32) for r in rows])
                metadatas = [{"diagnosis": r["diagnosis"], "model_family": r["model_family"]} for r in rows]
                self.index.upsert([r["id"] for r in rows], vectors, metadatas)
            else:
                self.index.upsert([], np.zeros((0, embedder.DIMENSION), dtype=np.float32), [])
            self._bump_generation()
        return len(rows)

    def _bump_generation(self) -> None:
        self.store.db.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'index_generation'"
        )

    # ----------------------------------------------------------------- reading
    def count(self) -> int:
        return int(self.store.db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0])

    def get(self, incident_id: str) -> Incident:
        """An incident by id or unique id prefix."""
        rows = self.store.db.execute(
            "SELECT * FROM incidents WHERE id LIKE ? LIMIT 2", (incident_id.replace("%", "") + "%",)
        ).fetchall()
        if len(rows) != 1:
            raise KeyError(f"no incident {incident_id!r}" if not rows else f"{incident_id!r} is ambiguous")
        return Incident.from_row(rows[0])

    def for_run(self, run_id: str) -> list[Incident]:
        """The incidents recorded by one run, in the order they happened."""
        rows = self.store.db.execute(
            "SELECT * FROM incidents WHERE run_id = ? ORDER BY created_at", (run_id,)
        ).fetchall()
        return [Incident.from_row(r) for r in rows]

    def recent(self, limit: int = 50) -> list[Incident]:
        """The newest incidents first."""
        rows = self.store.db.execute(
            "SELECT * FROM incidents ORDER BY created_at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [Incident.from_row(r) for r in rows]

    def search(
        self, query: str | Symptom, k: int = 5, model_family: str | None = None, diagnosis: str | None = None
    ) -> list[IncidentHit]:
        """The ``k`` incidents most similar to ``query``, optionally filtered, most similar first."""
        text = query.signature() if isinstance(query, Symptom) else query
        vector = embedder.embed([text])[0]
        filters = [{"model_family": model_family}] if model_family else []
        if diagnosis:
            filters.append({"diagnosis": Diagnosis(diagnosis).value})
        where = filters[0] if len(filters) == 1 else ({"$and": filters} if filters else None)
        generation = self.store.db.execute(
            "SELECT value FROM meta WHERE key = 'index_generation'"
        ).fetchone()[0]
        found = self.index.query(vector, k, where, generation)
        if not found:
            return []
        placeholders = ",".join("?" * len(found))
        rows = {
            r["id"]: r
            for r in self.store.db.execute(
                f"SELECT * FROM incidents WHERE id IN ({placeholders})", [i for i, _ in found]
            )
        }
        return [IncidentHit(Incident.from_row(rows[i]), similarity) for i, similarity in found if i in rows]

    def rank_fixes(
        self, query: str | Symptom, k: int = 20, model_family: str | None = None, diagnosis: str | None = None
    ) -> list[RankedFix]:
        """Fixes tried on the ``k`` most similar incidents, best first.

        Each incident adds similarity × outcome weight (fixed +1, not fixed −0.5, made worse −1,
        pending 0) to its fix's score, so a fix that worked on close incidents ranks first.
        """
        hits = self.search(query, k, model_family, diagnosis)
        groups: dict[str, list[IncidentHit]] = defaultdict(list)
        for hit in hits:
            if hit.incident.fix is not None:
                groups[hit.incident.fix.key].append(hit)
        ranked = []
        for group in groups.values():
            best = max(group, key=lambda h: (h.incident.outcome == Outcome.FIXED, h.similarity))
            ranked.append(
                RankedFix(
                    fix=best.incident.fix,  # type: ignore[arg-type]
                    score=sum(h.similarity * OUTCOME_WEIGHT[h.incident.outcome] for h in group),
                    worked=sum(h.incident.outcome == Outcome.FIXED for h in group),
                    failed=sum(h.incident.outcome in (Outcome.NOT_FIXED, Outcome.MADE_WORSE) for h in group),
                    tried=len(group),
                    best_similarity=max(h.similarity for h in group),
                )
            )
        return sorted(ranked, key=lambda r: (r.score, r.best_similarity), reverse=True)


def _metadata(incident: Incident) -> dict[str, Any]:
    return {"diagnosis": incident.diagnosis.value, "model_family": incident.model_family}
