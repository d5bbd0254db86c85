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

Not when the task is answered from knowledge the prompts do not carry (closed-book questions about a
handbook, a product, a code base): there the right answers themselves state facts their prompts
lack, so the rows that do are what the adapter is there to learn, and filtering them removes the
knowledge. The goal's own eval file shows it: when its references state facts their prompts lack
(:data:`CLOSED_BOOK_SHARE` of them, and at least half as often as the training answers do), no data
finding is made and the person is told why. A validation split of the training file cannot show it
(it shares the training rows' faults), so without an eval file the training answers are judged alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from openlora.agent.candidates import filter_data
from openlora.agent.goal import EvaluationSettings
from openlora.agent.records import Diagnosis, Finding

MIN_INVENTING_SHARE = 0.02  # of the training pairs, answering with a fact the prompt lacks
CLOSED_BOOK_SHARE = 0.1  # of the eval file's references stating a fact their prompt lacks


@dataclass(frozen=True)
class Inventing:
    """Training pairs whose answer states a fact its prompt lacks (``rows`` of ``pairs``), and the same
    count over the goal's eval file (``reference_rows`` of ``reference_pairs``; 0 of 0: no eval file)."""

    rows: int
    pairs: int
    reference_rows: int = 0
    reference_pairs: int = 0

    @property
    def closed_book(self) -> bool:
        """The eval file's right answers state facts their prompts lack too (see the module text)."""
        if not self.reference_pairs or not self.pairs:
            return False
        share = self.reference_rows / self.reference_pairs
        return share >= CLOSED_BOOK_SHARE and share >= 0.5 * self.rows / self.pairs


def _taught_by_data(inventing: Inventing) -> bool:
    """Whether enough training answers state facts their prompts lack for the data to be the cause,
    and the task is not one whose right answers do so too."""
    return inventing.rows >= MIN_INVENTING_SHARE * max(1, inventing.pairs) and not inventing.closed_book


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
    inventing: Inventing | None = None,
) -> Finding | None:
    """A data problem from the evaluation summary (adapter vs base), or None when the outputs pass or
    the training data is not what the filter could fix. ``inventing``: the training pairs whose answer
    states a fact their prompt lacks, of all training pairs, and the eval file's (None: unknown, assumed
    the cause)."""
    if inventing is not None and not _taught_by_data(inventing):
        return None
    source = (
        f"; {inventing.rows} of the {inventing.pairs} training answers state facts their prompts lack"
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
            evidence |= {"inventing_rows": inventing.rows, "training_pairs": inventing.pairs}
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
    summary: dict[str, dict[str, float]], settings: EvaluationSettings, inventing: Inventing | None
) -> str | None:
    """What to tell a person when the adapter invents too much but its training answers are not the
    cause filtering could remove (so no data finding was made), or None."""
    adapter, base = summary.get("adapter", {}), summary.get("base", {})
    invents = _invents(adapter.get("hallucination_rate", 0.0), base.get("hallucination_rate", 0.0), settings)
    if not invents or inventing is None or _taught_by_data(inventing):
        return None
    if inventing.closed_book:
        return (
            f"the adapter states facts neither prompt nor reference has in {invents}, but "
            f"{inventing.reference_rows} of the {inventing.reference_pairs} reference answers of the eval "
            "file state facts their prompts lack: the task answers from "
            "knowledge the prompts do not carry, and filtering the training rows that do would remove "
            "that knowledge — not a data problem filtering can fix"
        )
    return (
        f"the adapter invents facts in {invents}, but only {inventing.rows} of the {inventing.pairs} "
        "training answers state facts their prompts lack: not a data problem filtering can fix"
    )
