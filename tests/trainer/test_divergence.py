"""The divergence guard counts a step when the loss is far above its minimum and has climbed back
toward where the run started; near a loss of zero a ratio alone is noise."""

from __future__ import annotations

import math

from openlora.trainer.checkpoint_state import Progress
from openlora.trainer.divergence import DivergenceWatch


def _streaks(losses: list[float], factor: float = 4.0, patience: int = 3) -> tuple[bool, int]:
    watch = DivergenceWatch(factor, patience)
    diverged = False
    for loss in losses:
        diverged = watch.observe(loss) or diverged
    return diverged, watch.above_min_streak


def test_a_memorised_run_whose_tiny_loss_quadruples_has_not_diverged():
    # 3.0 → 0.007, then 0.09: 13× the minimum, but 3 % of the drop given back
    assert _streaks([3.0, 1.0, 0.1, 0.007, 0.09, 0.08, 0.1, 0.095]) == (False, 0)


def test_a_run_that_climbs_back_toward_its_first_loss_has_diverged():
    diverged, streak = _streaks([3.0, 1.0, 0.5, 2.2, 2.5, 3.1])
    assert diverged and streak == 3
    assert _streaks([3.0, 4.0, 9.0, 14.0, 20.0], factor=2.0) == (True, 3)  # rising from the start


def test_the_first_loss_is_kept_across_a_checkpoint_and_old_checkpoints_fall_back_to_the_ratio():
    watch = DivergenceWatch(4.0, 3)
    for loss in (3.0, 0.5):
        watch.observe(loss)
    progress = Progress(1, 1, {}, [], watch.min_loss, 0, 0.5, {}, first_loss=watch.first_loss)
    restored = Progress.from_json(progress.to_json())
    assert restored.first_loss == 3.0
    old = progress.to_json()
    del old["first_loss"]
    assert math.isnan(Progress.from_json(old).first_loss)
    unknown_start = DivergenceWatch(4.0, 3, min_loss=0.007)
    assert unknown_start.diverging(0.09)  # no first loss known: the ratio alone decides, as before
    assert "first loss 3" in watch.message(2.5) and watch.evidence(2.5)["first_loss"] == 3.0
