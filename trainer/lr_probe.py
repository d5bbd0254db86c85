"""``python -m openlora.trainer.lr_probe RUN_DIR START_LR``: a learning-rate range test on a run folder.

The folder's ``spec.json`` is an ordinary training config whose ``learning_rate`` is the top of the
range and whose ``max_steps`` is the probe's length. The learning rate grows geometrically from
``START_LR`` to ``learning_rate`` over those steps (the LR range test of Smith 2017, "Cyclical
Learning Rates for Training Neural Networks", §3.3), with no warmup and no exports. Each step's lr and
loss land in ``metrics.jsonl`` like any run's, and ``result.json`` says how it ended: a range test may
end ``diverged`` or ``nan`` near its top, which is what it is for. Choosing an lr from the curve is the
supervisor's job (``tools.probe_learning_rate``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from openlora.trainer.main import run_training
from openlora.trainer.result import RunStatus

if TYPE_CHECKING:
    from openlora.trainer.recipe import LoRARecipe


def geometric_schedule(start_lr: float) -> Callable[[LoRARecipe], None]:
    """Replace a set-up recipe's schedule by one rising geometrically from ``start_lr`` to its peak."""

    def adjust(recipe: LoRARecipe) -> None:
        peak, last = recipe.config.learning_rate, max(1, recipe.total_steps - 1)
        ratio = min(1.0, start_lr / peak)
        recipe.scheduler = torch.optim.lr_scheduler.LambdaLR(
            recipe.optimizer, lambda step: ratio ** (1.0 - min(step, last) / last)
        )

    return adjust


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        root, start_lr = Path(args[0]), float(args[1])
    except (IndexError, ValueError):
        print("usage: python -m openlora.trainer.lr_probe RUN_DIR START_LR", file=sys.stderr)
        return 2
    if not start_lr > 0 or len(args) != 2:
        print("lr_probe: START_LR must be a positive number", file=sys.stderr)
        return 2
    result = run_training(root, adjust=geometric_schedule(start_lr), export=False)
    print(f"{result.status.value}: {result.message}", file=sys.stderr)
    return 0 if result.status in (RunStatus.COMPLETED, RunStatus.DIVERGED, RunStatus.NAN) else 1


if __name__ == "__main__":
    raise SystemExit(main())
