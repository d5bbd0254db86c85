"""Graph nodes that judge an ended attempt: detect how it ended, and score a healthy one's outputs.

``detect`` turns the attempt's ``result.json`` and ``metrics.jsonl`` into one :class:`Finding`
(``detectors``; an overfit that the training set's size explains gets synthesis, ``more_data``)
and settles the outcome of the incident the attempt was testing (fixed / not fixed).
``evaluate`` scores a healthy attempt's adapter against its base (the ``score_outputs`` tool); more
hallucination or failed format checks become a data finding (``quality``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from openlora.agent.context import Context
from openlora.agent.detectors import detect
from openlora.agent.facts import facts_for
from openlora.agent.live_evidence import live_checks
from openlora.agent.more_data import too_little_data
from openlora.agent.oom_probe import measured_oom_finding
from openlora.agent.preflight import run_checks
from openlora.agent.quality import Inventing, invention_not_from_data, quality_finding
from openlora.agent.records import Diagnosis, Finding
from openlora.agent.state import AgentState, TimelineEntry
from openlora.memory.records import Outcome
from openlora.tools import registry
from openlora.tools.inspect_dataset import GARBLED
from openlora.trainer.result import RunResult
from openlora.trainer.rundir import RunDir, read_events


def _settle_incident(state: AgentState, ctx: Context, finding: Finding) -> list[TimelineEntry]:
    """The fix the attempt tested worked when it is healthy; record that in memory."""
    pending = state.get("pending_incident")
    if not pending or ctx.memory is None:
        return []
    outcome = Outcome.FIXED if finding.diagnosis == Diagnosis.HEALTHY else Outcome.NOT_FIXED
    ctx.memory.update_outcome(pending, outcome)
    return [ctx.recorder.say("memory", f"incident {pending[:12]}: fix {outcome.value}")]


def detect_node(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx, attempt, config = runtime.context, state["attempt"], state["config"]
    rd = RunDir(ctx.tools.attempt_dir(attempt))
    result, events = RunResult.read(rd.result), read_events(rd.metrics)
    facts = facts_for(config, state["goal"], state["plan"], state["dataset"], state.get("validation"))
    finding = detect(
        result,
        events,
        config,
        state["goal"].success,
        state["plan"].prior_lr,
        data_problems=state["dataset"].problems,
        longest_example_bytes=state["dataset"].max_bytes,
        checks=run_checks(facts) + live_checks(events, result, config, facts.data),
    )
    finding = measured_oom_finding(finding, config, ctx, attempt, facts.data)
    dataset = state["dataset"]
    if not any(p.startswith(GARBLED) for p in dataset.problems):  # garbled rows: no more of them
        pairs = round(facts.train_rows * dataset.kinds.get("pair", 0) / max(1, dataset.rows))
        finding = too_little_data(finding, events, state["goal"].success, pairs, facts.passes)
    lines = [ctx.recorder.say("detect", finding.summary())]
    ctx.recorder.event("diagnosis", diagnosis=finding.diagnosis.value, attempt=attempt)
    earlier = [
        a
        for a in state["attempts"]
        if a.number < attempt and a.finding and a.finding.diagnosis != Diagnosis.HEALTHY
    ]
    if finding.diagnosis == Diagnosis.HEALTHY and earlier:
        ctx.recorder.event("recovered", seconds=round(time.time() - earlier[-1].ended_at, 3), attempt=attempt)
    lines += _settle_incident(state, ctx, finding)
    record = state["attempts"][-1].model_copy(update={"finding": finding})
    return {"finding": finding, "pending_incident": None, "attempts": [record], "timeline": lines}


def _inventing(config: dict[str, Any]) -> Inventing | None:
    """The attempt's training pairs that answer with facts their prompts lack, of all its pairs, and
    the same count over its eval file (``val_dataset``) when it has one."""
    from openlora.synthesis.filtering import inventing_rows
    from openlora.trainer.data_files import ColumnMap, DataError

    columns = ColumnMap.of(config)
    try:
        rows, pairs = inventing_rows(Path(config["dataset"]), columns)
        reference = (
            inventing_rows(Path(config["val_dataset"]), columns) if config.get("val_dataset") else (0, 0)
        )
    except (DataError, OSError):
        return None
    return Inventing(rows, pairs, *reference)


def evaluate(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Score the adapter against its base; more hallucination or failed formats is a data problem."""
    ctx, attempt, settings = runtime.context, state["attempt"], state["goal"].evaluation
    if settings.samples == 0:
        return {"timeline": [ctx.recorder.say("evaluate", "evaluation skipped (samples: 0)")]}
    scored = registry.invoke(
        "score_outputs",
        ctx.tools,
        {
            "samples": settings.samples,
            "json_output": settings.json_output,
            "labels": settings.labels,
            "checks": settings.checks,
        },
        {"attempt": attempt},
    )
    ctx.recorder.action("score_outputs", attempt=attempt)
    summary = scored["summary"]
    adapter, base = summary["adapter"], summary.get("base", {})
    text = (
        f"{scored['samples']} held-out samples: token F1 {adapter['token_f1']:.3f} "
        f"(base {base.get('token_f1', 0):.3f}), hallucination rate {adapter['hallucination_rate']:.2f} "
        f"(base {base.get('hallucination_rate', 0):.2f})"
    )
    lines = [ctx.recorder.say("evaluate", text)]
    evaluation = {"attempt": attempt, "samples": scored["samples"], "summary": summary}
    inventing = _inventing(state["config"])
    finding = quality_finding(summary, settings, inventing)
    record = state["attempts"][-1].model_copy(update={"evaluation": evaluation})
    if finding is None:
        note = invention_not_from_data(summary, settings, inventing)
        lines += [ctx.recorder.say("evaluate", note)] if note else []
        return {"attempts": [record], "timeline": lines}
    lines.append(ctx.recorder.say("detect", finding.summary()))
    record = record.model_copy(update={"finding": finding})
    return {"attempts": [record], "finding": finding, "timeline": lines}
