"""Before attempt 1: the planned micro-batch measured against the memory there is (the memory probe).

When the goal leaves ``batch_size`` to the supervisor (not pinned, not set by a remembered fix) and
``memory_probe: auto``, the ``probe_batch_size`` tool runs one forward, backward and optimizer step of
the planned config over the longest training sequence at a few micro-batch sizes around the plan
(half, the plan, twice the plan). The sizes tried cost at most :data:`BUDGET_SHARE` of the goal's
step budget, counted in planned steps (a trial of size 2b costs two steps of size b); sizes that
would exceed it are not tried. When the planned size does not fit, the plan takes the largest size
that did and multiplies ``grad_accum`` so the effective batch stays the same; when it fits, the plan
is kept and the largest size that fitted is reported as the headroom. The trials go into the plan
and the report.
"""

from __future__ import annotations

import math
from typing import Any

from openlora.agent.context import Context
from openlora.agent.facts import facts_for
from openlora.agent.state import AgentState
from openlora.tools import registry
from openlora.tools.context import ToolError

BUDGET_SHARE = 0.10


def candidate_sizes(planned: int, budget_steps: float) -> list[int]:
    """Half, the plan and twice the plan, smallest first, while their cost stays within the budget."""
    sizes, spent = [], 0.0
    for size in sorted({max(1, planned // 2), planned, planned * 2}):
        spent += size / planned
        if spent > budget_steps and size > planned:
            break
        sizes.append(size)
    return sizes


def describe_trials(trials: list[dict[str, Any]], by_length: bool = False) -> str:
    """The probe's trials in words: "1 fits (0.52 GiB), 4 out of memory (0.58 GiB)"; ``by_length``:
    "64 tokens fits (0.40 GiB), 128 tokens out of memory (0.47 GiB)"."""
    return ", ".join(
        (f"{t['tokens']} tokens" if by_length else str(t["batch_size"]))
        + f" {'fits' if t['fits'] else 'out of memory'} ({t['peak_gib']:.2f} GiB)"
        for t in trials
    )


def same_effective_batch(config: dict[str, Any], batch_size: int) -> dict[str, int]:
    """``batch_size`` with the accumulation that keeps (at least) the config's effective batch."""
    accum = int(config.get("grad_accum", 1)) * math.ceil(int(config["batch_size"]) / batch_size)
    return {"batch_size": batch_size, "grad_accum": accum}


def _skip_reason(state: AgentState) -> str | None:
    goal = state["goal"]
    if goal.memory_probe == "off":
        return "memory_probe: off"
    return state["plan"].held_reason("batch_size", goal.training)


def fit_batch(state: AgentState, ctx: Context) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
    """The config with a micro-batch that fits, the probe's findings (None when skipped), and a line."""
    config, goal = dict(state["config"]), state["goal"]
    skipped = _skip_reason(state)
    if skipped is not None:
        return config, None, f"no memory probe: {skipped}"
    planned = int(config["batch_size"])
    facts = facts_for(config, goal, state["plan"], state["dataset"], state.get("validation"))
    sizes = candidate_sizes(planned, BUDGET_SHARE * goal.budget.max_attempts * facts.steps)
    try:
        found = registry.invoke("probe_batch_size", ctx.tools, {"sizes": sizes}, {"training_config": config})
    except ToolError as exc:
        return config, None, f"memory probe failed ({exc}); keeping batch_size {planned}"
    ctx.recorder.action("probe_batch_size", attempt=0)
    largest = found["largest_fitting"]
    tried = describe_trials(found["trials"])
    where = f"on {found['device']} with {found['budget_gib']} GiB to fit into" if found["device"] else ""
    if found["status"] != "completed":
        return config, found, f"memory probe ended {found['status']}: {found['message']}; keeping the plan"
    if largest is None:
        text = f"memory probe {where}: {tried}; not even batch_size {sizes[0]} fits, keeping the plan"
    elif largest >= planned:
        text = f"memory probe {where}: {tried}; the planned batch_size {planned} fits"
    else:
        config |= same_effective_batch(config, largest)
        accum = config["grad_accum"]
        text = (
            f"memory probe {where}: {tried}; batch_size {planned} does not fit: batch_size {largest} "
            f"with grad_accum {accum} (the same effective batch)"
        )
    return config, found, text
