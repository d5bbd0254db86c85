"""Slots for ``synthesize_data`` and ``score_outputs``, which arrive with the synthesizer/evaluation work.

They are registered so the advisor's tool list is stable, and they say plainly that they are not
available yet instead of pretending to work.
"""

from __future__ import annotations

from typing import Any


def synthesize_data(dataset_id: str, n: int = 0) -> dict[str, Any]:
    """Generate more training pairs from a dataset (not available yet)."""
    return {"available": False, "reason": "synthesize_data arrives with the dataset synthesizer"}


def score_outputs(attempt: int) -> dict[str, Any]:
    """Score an attempt's outputs on held-out data (not available yet)."""
    return {"available": False, "reason": "score_outputs arrives with the evaluation engine"}
