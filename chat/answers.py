"""Answers to questions about runs ("why did run 3 fail?"), built from recorded facts only.

The answer is assembled from the run registry (status, attempts, the trainer's own result
messages, the supervisor's decisions with their reasons) and the incident memory (what was tried
on this run and whether it worked). Every fact is quoted as recorded; nothing is generated, so a
small advisor cannot put words in a run's mouth. Runs are named by their number in the history
(``run 1`` is the oldest), by id, or by the start of their id or name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from openlora.agent.records import ToolCall
from openlora.memory.registry import RunRegistry, RunSummary


@dataclass
class Answer:
    """A headline and the recorded facts behind it."""

    headline: str
    facts: list[str] = field(default_factory=list)
    run_id: str | None = None


def numbered_history(registry: RunRegistry, limit: int = 500) -> list[tuple[int, RunSummary]]:
    """Runs with their numbers (1 = oldest), newest first, as the history screen shows them."""
    runs = registry.history(limit)
    return [(len(runs) - i, run) for i, run in enumerate(runs)]


def find_run(registry: RunRegistry, ref: str) -> RunSummary | None:
    numbered = numbered_history(registry)
    ref = ref.strip().lstrip("#")
    if ref.isdigit():
        hit = next((run for n, run in numbered if n == int(ref)), None)
        if hit is not None:
            return hit
    for _, run in numbered:
        if run.id == ref:
            return run
    matches = [run for _, run in numbered if ref and (run.id.startswith(ref) or run.name == ref)]
    return matches[0] if matches else None


def _metrics(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in sorted(values.items()) if isinstance(v, int | float))


def _decided(decision: dict[str, Any]) -> str:
    """A recorded decision: its action and the tool call it made (older rows hold only the changes)."""
    arguments = decision["arguments"]
    try:
        call = ToolCall.model_validate(arguments)
    except ValidationError:
        return f"{decision['diagnosis']} → {decision['action']} {arguments}"
    return f"{decision['diagnosis']} → {decision['action']} as {call.text()}"


def answer_question(registry: RunRegistry, memory: Any, run_ref: str) -> Answer:
    """Facts about one run, or about the newest run when ``run_ref`` is empty."""
    if not run_ref:
        numbered = numbered_history(registry, 1)
        if not numbered:
            return Answer("No runs are recorded yet.")
        run = numbered[0][1]
    else:
        found = find_run(registry, run_ref)
        if found is None:
            count = len(registry.history(500))
            return Answer(f"No run {run_ref!r} is recorded ({count} runs in the history).")
        run = found
    verb = {"success": "succeeded", "failed": "failed", "running": "is still running"}.get(
        run.status, f"ended {run.status!r}"
    )
    answer = Answer(f"Run {run.id} ({run.name}) {verb} after {run.attempts} attempt(s).", run_id=run.id)
    decisions = registry.decisions(run.id)
    for attempt in registry.attempts(run.id):
        line = f'attempt {attempt["number"]}: {attempt["status"]} — "{attempt["message"]}"'
        if attempt["final_metrics"]:
            line += f" ({_metrics(attempt['final_metrics'])})"
        answer.facts.append(line)
        for d in (d for d in decisions if d["attempt"] == attempt["number"]):
            answer.facts.append(f'  decided ({d["source"]}): {_decided(d)} — "{d["reason"]}"')
    if memory is not None:
        for incident in memory.for_run(run.id):
            fix = f"{incident.fix.action} {incident.fix.changes}" if incident.fix else "no fix"
            answer.facts.append(
                f"incident {incident.id[:12]}: {incident.diagnosis.value}, tried {fix}, "
                f"outcome {incident.outcome.value}"
            )
    if run.final_metrics:
        answer.facts.append(f"final metrics: {_metrics(run.final_metrics)}")
    return answer
