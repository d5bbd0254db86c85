"""The overfit that stopping earlier cannot fix: a training set too small for its goal.

An attempt that overfits (its validation loss rose again, or stalled, while the training loss fell) is usually
fixed by stopping at the best evaluation. That only helps when the best evaluation met the goal's
target. When even the best validation loss missed it, and the run had already seen every training
row at least :data:`MIN_PASSES_AT_BEST` times by then, more passes over the same rows cannot help and
fewer cannot either: the rows are too few for the goal. The fix that the evidence points to is more
rows, so the finding's candidate becomes ``relaunch_on_synthesized_data`` (new pairs written by the
advisor from the training pairs, each through the quality gate). Stopping earlier is no longer offered:
the evidence says it cannot meet the target (measured: the advisor, offered both, picked it).
"""

from __future__ import annotations

import math
from typing import Any

from openlora.agent.candidates import synthesize
from openlora.agent.detectors import evaluations, first_near_best
from openlora.agent.goal import Success
from openlora.agent.records import Diagnosis, Finding
from openlora.tools.synthesize_data import MIN_SEED_PAIRS  # what synthesis needs to show the advisor

MIN_PASSES_AT_BEST = 1.0  # the best evaluation came after the run had seen every row this often
# How many pairs the rules ask for: as many as the training set has (it doubles), within these bounds;
# each is one generation by the advisor, about a few seconds on a CPU.
PAIRS_FLOOR, PAIRS_CEILING = 8, 200


def pairs_to_add(train_pairs: int) -> int:
    return max(PAIRS_FLOOR, min(PAIRS_CEILING, train_pairs))


def too_little_data(
    finding: Finding,
    events: list[dict[str, Any]],
    success: Success,
    train_pairs: int,
    passes: float,
) -> Finding:
    """``finding`` with synthesis as its fix when it is an overfit the training set's size explains.

    ``train_pairs``: the prompt/response pairs the attempt trained on; ``passes``: the passes over
    the training rows its whole run made (the pre-flight figure).
    """
    target = success.val_loss_below
    points = [(step, loss) for step, loss in evaluations(events) if math.isfinite(loss)]
    if finding.diagnosis != Diagnosis.OVERFIT or target is None or not points or train_pairs < MIN_SEED_PAIRS:
        return finding
    vals = [loss for _, loss in points]
    best = min(vals)
    # the passes the run had made when validation stopped improving (the last evaluation ends the run)
    passes_at_best = passes * points[first_near_best(vals)][0] / max(1, points[-1][0])
    if best <= target or passes_at_best < MIN_PASSES_AT_BEST:
        return finding
    pairs = pairs_to_add(train_pairs)
    why = (
        f"the best val loss {best:.4g} already missed the target {target:g}, after {passes_at_best:.2g} "
        f"passes over the {train_pairs} training pairs: stopping earlier cannot meet it and more passes "
        f"over the same rows overfit, so the data is too small for the goal: add synthesized pairs"
    )
    ranges = {"pairs": (float(max(1, pairs // 2)), float(min(2000, 3 * pairs)))}
    return finding.model_copy(
        update={
            "evidence": finding.evidence
            | {"val_best": best, "passes_at_best": round(passes_at_best, 3), "train_pairs": train_pairs},
            "candidates": [synthesize(why, pairs, ranges)],
        }
    )
