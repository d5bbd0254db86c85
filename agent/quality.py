"""The evaluation's finding: an adapter that hallucinates more than its base, or fails the format checks.

The fix is a data action, not another hyper-parameter change: the next attempt trains on the rows
whose answers state only facts their prompts support (``relaunch_on_filtered_data``).
"""

from __future__ import annotations

from openlora.agent.candidates import filter_data
from openlora.agent.goal import EvaluationSettings
from openlora.agent.records import Diagnosis, Finding


def quality_finding(summary: dict[str, dict[str, float]], settings: EvaluationSettings) -> Finding | None:
    """A data problem from the evaluation summary (adapter vs base), or None when the outputs pass."""
    adapter, base = summary.get("adapter", {}), summary.get("base", {})
    adapter_rate, base_rate = adapter.get("hallucination_rate", 0.0), base.get("hallucination_rate", 0.0)
    if adapter_rate - base_rate > settings.max_hallucination_increase:
        why = (
            f"the adapter invents facts in {adapter_rate:.0%} of answers vs {base_rate:.0%} for the base: "
            "drop the training rows whose answers carry facts their prompts do not support"
        )
        return Finding(
            diagnosis=Diagnosis.HALLUCINATION,
            evidence={"adapter_rate": adapter_rate, "base_rate": base_rate},
            candidates=[filter_data(why)],
        )
    passed = adapter.get("format_pass_rate", 1.0)
    if (settings.json_output or settings.labels) and passed < settings.min_format_pass_rate:
        why = (
            f"{passed:.0%} of the outputs pass the format checks (< {settings.min_format_pass_rate:.0%}): "
            "drop the training rows whose answers carry facts their prompts do not support"
        )
        return Finding(
            diagnosis=Diagnosis.FORMAT_FAILURE,
            evidence={"format_pass_rate": passed},
            candidates=[filter_data(why)],
        )
    return None
