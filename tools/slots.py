"""The slot for ``synthesize_data``, which arrives with the dataset synthesizer.

It is registered so the advisor's tool list is stable, and says plainly that it is not available
yet instead of pretending to work. (``score_outputs`` is real: see ``score_outputs.py``.)
"""

from __future__ import annotations

from typing import Any


def synthesize_data(dataset_id: str, n: int = 0) -> dict[str, Any]:
    """Generate more training pairs from a dataset (not available yet)."""
    return {"available": False, "reason": "synthesize_data arrives with the dataset synthesizer"}
