"""The divergence guard: the loss stayed far above its running minimum for too many steps.

For: tracking the running minimum of the training loss and the streak of steps above
``diverge_factor`` times it, and saying (with figures) when the streak reaches
``diverge_patience``. Not for: non-finite losses (the recipe checks those on the spot), stop
signals or memory limits (``guards``), or building the run's result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class DivergenceWatch:
    """Running minimum of the loss and how many steps in a row it has been exceeded by ``factor``."""

    factor: float
    patience: int
    min_loss: float = math.inf
    above_min_streak: int = 0

    def observe(self, loss: float) -> bool:
        """Record one optimizer step's loss; True when the run has diverged."""
        self.min_loss = min(self.min_loss, loss)
        if loss > self.factor * self.min_loss:
            self.above_min_streak += 1
        else:
            self.above_min_streak = 0
        return self.above_min_streak >= self.patience

    def message(self, loss: float) -> str:
        return (
            f"loss {loss:.4g} stayed above {self.factor}× its minimum {self.min_loss:.4g} "
            f"for {self.above_min_streak} steps"
        )

    def evidence(self, loss: float) -> dict[str, Any]:
        return {"loss": loss, "running_min": self.min_loss, "factor": self.factor, "patience": self.patience}
