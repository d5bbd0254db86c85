"""Graph nodes that act on a finding: decide, have a person review, execute the call, or give up.

``decide`` asks the advisor for one allowed tool call (``consult``), after dropping the candidates
that would relaunch a configuration already tried: a fix that failed is never relaunched unchanged.
``review`` pauses for a person under ``approval: ask`` (a LangGraph interrupt) and then records the
incident in memory. ``relaunch`` executes the decided call through the registry; ``give_up``
executes a stop. Which checkpoint a relaunch continues from is the supervisor's rule, not the advisor's.
"""

from __future__ import annotations

import itertools
import math
import uuid
from typing import Any

from langgraph.runtime import Runtime

from openlora.agent.candidates import RELAUNCH_TOOL, stop
from openlora.agent.consult import consult, situation
from openlora.agent.context import Context
from openlora.agent.detectors import finite_metric
from openlora.agent.goal import Success
from openlora.agent.prepare import inspect_dataset_report
from openlora.agent.records import (
    Action,
    AttemptRecord,
    Decision,
    DecisionSource,
    Diagnosis,
    Finding,
    GoalStatus,
)
from openlora.agent.state import AgentState, TimelineEntry
from openlora.memory.incidents import NewIncident
from openlora.memory.records import Fix
from openlora.memory.signature import Symptom
from openlora.tools import registry
from openlora.tools.context import ToolError
from openlora.trainer.config import TrainConfig
from openlora.trainer.rundir import RunDir, read_events

HELPED = 0.2  # a fix helped when the next attempt closed at least this share of the gap to the target
# A broken run's weights (NaN, divergence, OOM) and a data fix's are not worth continuing from.
FRESH_AFTER = {
    Diagnosis.NAN,
    Diagnosis.DIVERGED,
    Diagnosis.OOM,
    Diagnosis.HALLUCINATION,
    Diagnosis.FORMAT_FAILURE,
}


def _resolved(config: dict[str, Any]) -> dict[str, Any]:
    return TrainConfig.model_validate(config).model_dump()


def _goal_metric(success: Success) -> tuple[str, float]:
    """The metric the goal's target is on, and the target."""
    if success.val_loss_below is not None:
        return "val_loss", success.val_loss_below
    return "train_loss", float(success.train_loss_below or 0.0)


FixKind = tuple[Action, tuple[str, ...]]  # an action and the settings it changes, in any size


def _kind(action: Action, changes: dict[str, Any]) -> FixKind:
    return action, tuple(sorted(changes))


def unhelpful_fixes(attempts: list[AttemptRecord], success: Success) -> dict[FixKind, str]:
    """Fixes that did not help: the attempt after them ended with the same diagnosis and closed less
    than :data:`HELPED` of the gap between the loss before and the goal's target (the fix's kind →
    the figures that show it)."""
    key, target = _goal_metric(success)
    found: dict[FixKind, str] = {}
    for before, after in itertools.pairwise(attempts):
        if not (before.decision and before.finding and after.finding):
            continue
        was, now = finite_metric(before.final_metrics, key), finite_metric(after.final_metrics, key)
        gap = was - target
        same = after.finding.diagnosis == before.finding.diagnosis
        if same and math.isfinite(was) and gap > 0 and was - now < HELPED * gap:
            action = before.decision.action
            found[_kind(action, before.decision.changes)] = (
                f"{action.value} on attempt {before.number} left it {after.finding.diagnosis.value} "
                f"({key} {was:.4g} → {now:.4g}, target {target:g})"
            )
    return found


def without_repeats(
    finding: Finding, config: dict[str, Any], attempts: list[AttemptRecord], success: Success
) -> Finding:
    """The finding without candidates that would relaunch a configuration an earlier attempt trained,
    or repeat a fix that did not help (in any size) while the evidence is unchanged."""
    tried = [_resolved(a.config) for a in attempts]
    failed = unhelpful_fixes(attempts, success)
    kept, repeated = [], []
    for candidate in finding.candidates:
        if candidate.tool == RELAUNCH_TOOL and _resolved({**config, **candidate.changes}) in tried:
            repeated.append(candidate.action.value)
        elif _kind(candidate.action, candidate.changes) in failed:
            repeated.append(failed[_kind(candidate.action, candidate.changes)])
        else:
            kept.append(candidate)
    if not repeated:
        return finding
    if not kept:
        kept = [stop(f"every candidate fix was tried already or did not help: {'; '.join(repeated)}")]
    return finding.model_copy(update={"candidates": kept})


def decide(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx, attempt = runtime.context, state["attempt"]
    finding = without_repeats(state["finding"], state["config"], state["attempts"], state["goal"].success)
    events = read_events(RunDir(ctx.tools.attempt_dir(attempt)).metrics)
    decision = consult(ctx, situation(state), finding, events)
    refused = f" (the advisor's call was refused: {decision.rejected})" if decision.rejected else ""
    text = f"{finding.diagnosis.value} → {decision.call.text()} — {decision.reason} [{decision.source.value}]"
    record = state["attempts"][-1].model_copy(update={"decision": decision})
    return {
        "decision": decision,
        "attempts": [record],
        "timeline": [ctx.recorder.say("decide", text + refused)],
    }


def _ask_person(state: AgentState, ctx: Context, decision: Decision) -> tuple[Decision, list[TimelineEntry]]:
    from langgraph.types import interrupt

    from openlora.agent.approval import apply_verdict, parse_verdict, proposal

    attempt, prior = state["attempt"], state["plan"].prior_lr
    verdict = parse_verdict(interrupt(proposal(decision, state["config"], attempt, prior)))
    decided = apply_verdict(decision, verdict, state["config"], prior)
    ctx.recorder.event("approval", choice=verdict.choice, attempt=attempt)
    if decided.source == DecisionSource.PERSON:
        ctx.recorder.decision(decided, attempt)
    return decided, [ctx.recorder.say("approval", f"{verdict.choice}: {decided.call.text()}")]


def _remember(state: AgentState, ctx: Context, decision: Decision) -> str:
    """Store the incident and the fix about to be tried; its outcome is settled when the next attempt ends."""
    attempt, finding = state["attempt"], state["finding"]
    events = read_events(RunDir(ctx.tools.attempt_dir(attempt)).metrics)
    from openlora.agent.detectors import losses

    symptom = Symptom(
        finding.diagnosis.value,
        state["plan"].model_family,
        losses(events),
        error_tail=str(finding.evidence.get("error", "")),
        config=state["config"],
        dataset_stats={"rows": state["dataset"].rows},
    )
    incident_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{state['run_root']}#{attempt}").hex
    fix = Fix(decision.action.value, decision.changes)
    ctx.memory.add(  # type: ignore[union-attr]
        NewIncident(
            symptom, fix, run_id=ctx.recorder.run_id, attempt=attempt, config=state["config"], id=incident_id
        )
    )
    return incident_id


def review(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """With ``approval: ask``, wait for the person (the verdict is checked again here); then remember."""
    ctx, decision = runtime.context, state["decision"]
    lines: list[TimelineEntry] = []
    if state["goal"].approval == "ask" and not decision.stops:
        decision, lines = _ask_person(state, ctx, decision)
    incident_id = None
    if not decision.stops and ctx.memory is not None:
        incident_id = _remember(state, ctx, decision)
        lines.append(ctx.recorder.say("memory", f"incident {incident_id[:12]} recorded (outcome pending)"))
    record = state["attempts"][-1].model_copy(update={"decision": decision})
    return {"decision": decision, "pending_incident": incident_id, "attempts": [record], "timeline": lines}


def _supervised_args(decision: Decision, finding: Finding, attempt: int) -> dict[str, Any]:
    """What the supervisor binds: the attempt, and whether to continue from its checkpoint — only when
    the fix trains further; a checkpoint at the end of a finished run would make the relaunch a no-op."""
    bound: dict[str, Any] = {"from_attempt": attempt}
    if decision.call.tool == RELAUNCH_TOOL:
        extends = decision.action == Action.MORE_STEPS and "max_steps" in decision.changes
        bound["use_checkpoint"] = extends and finding.diagnosis not in FRESH_AFTER
    return bound


def relaunch(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Execute the decided call: the next attempt starts (from a checkpoint or from scratch)."""
    ctx, attempt, decision = runtime.context, state["attempt"], state["decision"]
    try:
        launched = registry.invoke(
            decision.call.tool,
            ctx.tools,
            decision.call.args,
            _supervised_args(decision, state["finding"], attempt),
        )
    except ToolError as exc:  # e.g. synthesis kept no pair: nothing new to train on
        ctx.recorder.state(GoalStatus.FAILED)
        return {
            "outcome": GoalStatus.FAILED,
            "timeline": [ctx.recorder.say("stop", f"the fix could not be applied: {str(exc)[:300]}")],
        }
    ctx.recorder.action(decision.call.tool, attempt=attempt + 1)
    ctx.recorder.event("relaunch", attempt=attempt + 1)
    lines, update = [], {}
    if "kept" in launched:
        lines.append(
            ctx.recorder.say(
                "data", f"kept {launched['kept']} rows, dropped lines {launched['dropped_lines']}"
            )
        )
    if "added" in launched:
        lines.append(
            ctx.recorder.say(
                "data",
                f"added {launched['added']} synthesized pairs to the {launched['rows_before']} training rows "
                f"(the quality gate dropped {launched['dropped_by_gate']})",
            )
        )
    if "dataset_id" in launched:  # later findings judge the rows the next attempt trains on
        update["dataset"] = inspect_dataset_report(ctx, launched["dataset_id"])
    origin = launched["from_checkpoint"] or "scratch"
    shown = {k: v for k, v in launched["changes"].items() if v is not None}
    lines.append(ctx.recorder.say("relaunch", f"attempt {attempt + 1} from {origin} with {shown}"))
    return update | {
        "attempt": attempt + 1,
        "config": launched["config"],
        "finding": None,
        "decision": None,
        "timeline": lines,
    }


def give_up(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """End the goal: execute the stop (the trainer is stopped if it still runs) and say why."""
    ctx, attempt = runtime.context, state["attempt"]
    finding, decision = state.get("finding"), state.get("decision")
    if decision is not None and decision.stops:
        reason = (
            decision.reason if decision.source == DecisionSource.PERSON else f"stopped: {decision.reason}"
        )
    else:
        reason = "the attempt budget is spent"
    if attempt >= 1:
        registry.invoke("stop_run", ctx.tools, {}, {"attempt": attempt})
        ctx.recorder.action("stop_run", attempt=attempt)
    ctx.recorder.state(GoalStatus.FAILED)
    diagnosis = finding.diagnosis.value if finding else None
    return {"outcome": GoalStatus.FAILED, "timeline": [ctx.recorder.say("stop", f"{reason} ({diagnosis})")]}
