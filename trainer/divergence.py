"""The divergence guard: the loss stayed far above its running minimum for too many steps.

For: tracking the running minimum of the training loss and the streak of steps that count as
diverging, and saying (with figures) when the streak reaches ``diverge_patience``. A step counts when
its loss is above ``diverge_factor`` times the minimum *and* the rise gave back more than
:data:`GIVE_BACK` of the drop from the run's first loss to that minimum: near a loss of zero a ratio
alone is noise (0.007 → 0.03 is 4× and nothing went wrong), while a run that diverges climbs back
toward where it started. Not for: non-finite losses (the recipe checks those on the spot), stop
signals or memory limits (``guards``), or building the run's result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

GIVE_BACK = 0.5  # the share of the drop from the first loss to the minimum a diverging step has lost again


@dataclass
class DivergenceWatch:
    """Running minimum of the loss and how many steps in a row the loss has diverged from it."""

    factor: float
    patience: int
    min_loss: float = math.inf
    above_min_streak: int = 0
    first_loss: float = math.nan  # NaN until the first step (and in checkpoints older than this field)

    def diverging(self, loss: float) -> bool:
        """Whether one step's ``loss`` counts toward divergence (the running minimum already updated)."""
        if loss <= self.factor * self.min_loss:
            return False
        if not math.isfinite(self.first_loss):
            return True
        return loss - self.min_loss > GIVE_BACK * (self.first_loss - self.min_loss)

    def observe(self, loss: float) -> bool:
        """Record one optimizer step's loss; True when the run has diverged."""
        if math.isnan(self.first_loss) and math.isinf(self.min_loss):
            self.first_loss = loss
        self.min_loss = min(self.min_loss, loss)
        self.above_min_streak = self.above_min_streak + 1 if self.diverging(loss) else 0
        return self.above_min_streak >= self.patience

    def message(self, loss: float) -> str:
        start = (
            f", giving back over {GIVE_BACK:.0%} of the drop from the first loss {self.first_loss:.4g}"
            if math.isfinite(self.first_loss)
            else ""
        )
        return (
            f"loss {loss:.4g} stayed above {self.factor}× its minimum {self.min_loss:.4g}{start} "
            f"for {self.above_min_streak} steps"
        )

    def evidence(self, loss: float) -> dict[str, Any]:
        return {
            "loss": loss,
            "running_min": self.min_loss,
            "first_loss": self.first_loss if math.isfinite(self.first_loss) else None,
            "factor": self.factor,
            "patience": self.patience,
        }
