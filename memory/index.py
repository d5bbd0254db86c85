"""The Chroma vector index over incidents: a rebuildable cache of what SQLite holds.

Vectors are computed by OpenLoRA (see ``embedder``) and passed in; the collection is created with
no embedding function, so Chroma never downloads one. Writes happen under the memory's writer
lock through a freshly opened client, and readers reopen when the index generation recorded in
SQLite has moved, so several processes never overwrite each other's additions.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

COLLECTION = "incidents"


class ChromaIndex:
    """One persistent Chroma collection (cosine space) at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._collection: Any = None
        self.generation: str | None = None

    def _open(self) -> Any:
        import chromadb
        from chromadb.api.shared_system_client import SharedSystemClient
        from chromadb.config import Settings

        SharedSystemClient.clear_system_cache()
        client = chromadb.PersistentClient(
            path=str(self.path), settings=Settings(anonymized_telemetry=False, allow_reset=True)
        )
        return client.get_or_create_collection(
            COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )

    def collection(self, generation: str | None = None) -> Any:
        """The collection, reopened when ``generation`` differs from the one it was opened at."""
        if self._collection is None or (generation is not None and generation != self.generation):
            self._collection = self._open()
            self.generation = generation
        return self._collection

    def close(self) -> None:
        from chromadb.api.shared_system_client import SharedSystemClient

        self._collection = None
        self.generation = None
        SharedSystemClient.clear_system_cache()

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict[str, Any]]) -> None:
        """Write through a fresh client (call under the writer lock); batches stay under Chroma's cap."""
        collection = self._open()
        for start in range(0, len(ids), 2000):
            end = start + 2000
            collection.upsert(
                ids=list(ids[start:end]), embeddings=vectors[start:end], metadatas=list(metadatas[start:end])
            )
        self.close()

    def query(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None, generation: str
    ) -> list[tuple[str, float]]:
        collection = self.collection(generation)
        total = collection.count()
        if total == 0:
            return []
        result = collection.query(
            query_embeddings=vector[None, :],
            n_results=min(k, total),
            where=where or None,
            include=["distances"],
        )
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    def count(self) -> int:
        return int(self.collection().count())

    def ids(self) -> set[str]:
        return set(self.collection().get(include=[])["ids"])

    def problem(self, expected: int) -> str | None:
        """None when the index opens and holds ``expected`` vectors; else what is wrong."""
        if not self.path.exists():
            return "missing" if expected else None
        try:
            self.close()
            found = self.count()
        except Exception as exc:  # any failure to open means the folder is unusable
            return f"unreadable ({type(exc).__name__}: {str(exc)[:200]})"
        finally:
            self.close()
        if found != expected:
            return f"holds {found} vectors, SQLite holds {expected} incidents"
        return None

    def wipe(self) -> None:
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)
