"""The evaluation's finding: an adapter that invents facts, or fails the format checks, because its
training answers taught it to.

The adapter invents too much when its hallucination rate rose more than
``max_hallucination_increase`` over the base's, or exceeds ``max_hallucination_rate`` whatever the base
does (an instruct base that does not do the task invents in most of its answers, so beside it any
adapter looks faithful). That is a data problem only when the training answers are where the invented
facts come from: some of them state facts their prompts lack (:data:`MIN_INVENTING_SHARE`). Then the
fix is a data action, not another hyper-parameter change: the next attempt trains on the rows whose
answers state only facts their prompts support (``relaunch_on_filtered_data``). When no training
answer invents, filtering would change nothing, and no data finding is made.
"""

from __future__ import annotations

from openlora.agent.candidates import filter_data
from openlora.agent.goal import EvaluationSettings
from openlora.agent.records import Diagnosis, Finding

MIN_INVENTING_SHARE = 0.02  # of the training pairs, answering with a fact the prompt lacks


def _taught_by_data(inventing: tuple[int, int]) -> bool:
    """Whether enough training answers state facts their prompts lack for the data to be the cause."""
    return inventing[0] >= MIN_INVENTING_SHARE * max(1, inventing[1])


def _invents(adapter_rate: float, base_rate: float, settings: EvaluationSettings) -> str | None:
    if adapter_rate - base_rate > settings.max_hallucination_increase:
        return f"{adapter_rate:.0%} of its answers vs {base_rate:.0%} for the base"
    if adapter_rate > settings.max_hallucination_rate:
        allowed = settings.max_hallucination_rate
        return f"{adapter_rate:.0%} of its answers (over the allowed {allowed:.0%}; the base {base_rate:.0%})"
    return None


def quality_finding(
    summary: dict[str, dict[str, float]],
    settings: EvaluationSettings,
    inventing: tuple[int, int] | None = None,
) -> Finding | None:
    """A data problem from the evaluation summary (adapter vs base), or None when the outputs pass or
    the training data is not what the filter could fix. ``inventing``: the training pairs whose answer
    states a fact their prompt lacks, and all training pairs (None: unknown, assumed the cause)."""
    if inventing is not None and not _taught_by_data(inventing):
        return None
    source = (
        f"; {inventing[0]} of the {inventing[1]} training answers state facts their prompts lack"
        if inventing
        else ""
    )
    why_drop = "drop the training rows whose answers carry facts their prompts do not support"
    adapter, base = summary.get("adapter", {}), summary.get("base", {})
    adapter_rate, base_rate = adapter.get("hallucination_rate", 0.0), base.get("hallucination_rate", 0.0)
    invents = _invents(adapter_rate, base_rate, settings)
    if invents:
        evidence = {"adapter_rate": adapter_rate, "base_rate": base_rate}
        if inventing:
            evidence |= {"inventing_rows": inventing[0], "training_pairs": inventing[1]}
        return Finding(
            diagnosis=Diagnosis.HALLUCINATION,
            evidence=evidence,
            candidates=[filter_data(f"the adapter invents facts in {invents}{source}: {why_drop}")],
        )
    passed = adapter.get("format_pass_rate", 1.0)
    if (
        settings.json_output or settings.labels or settings.checks
    ) and passed < settings.min_format_pass_rate:
        why = (
            f"{passed:.0%} of the outputs pass the format checks (< {settings.min_format_pass_rate:.0%})"
            f"{source}: {why_drop}"
        )
        return Finding(
            diagnosis=Diagnosis.FORMAT_FAILURE,
            evidence={"format_pass_rate": passed},
            candidates=[filter_data(why)],
        )
    return None


def invention_not_from_data(
    summary: dict[str, dict[str, float]], settings: EvaluationSettings, inventing: tuple[int, int] | None
) -> str | None:
    """What to tell a person when the adapter invents too much but its training answers do not (so no
    data finding was made), or None."""
    adapter, base = summary.get("adapter", {}), summary.get("base", {})
    invents = _invents(adapter.get("hallucination_rate", 0.0), base.get("hallucination_rate", 0.0), settings)
    if not invents or inventing is None or _taught_by_data(inventing):
        return None
    return (
        f"the adapter invents facts in {invents}, but only {inventing[0]} of the {inventing[1]} training "
        "answers state facts their prompts lack: not a data problem filtering can fix"
    )
