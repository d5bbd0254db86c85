"""Graph nodes: plain functions over the state that return a partial update.

inspect_data → recall → plan → launch → monitor → detect → (decide → relaunch → monitor …)
→ export → report; inspect_data → refuse → report when the data cannot be trained on. Every step is
idempotent under ``--resume``: launching reattaches to a live trainer, patch and incident ids are
derived from the attempt, so a repeated step adds nothing.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import StructuredTool
from langgraph.runtime import Runtime
from pydantic import create_model

from openlora.llm.advisor import AdvisorChatModel
from openlora.agent.context import Context
from openlora.agent.decision import AdvisorChoice, Decision, decision_schema, validate_choice
from openlora.agent.detectors import Finding, detect, live_findings, losses
from openlora.agent.events import record
from openlora.agent.goal import Goal
from openlora.agent.planner import plan_first_config
from openlora.agent.state import AgentState
from openlora.memory.incidents import NewIncident
from openlora.memory.records import Diagnosis, Fix, Outcome
from openlora.memory.signature import Symptom, describe_curve
from openlora.prompts import render
from openlora.tools.inspect_dataset import inspect_dataset
from openlora.tools.launch_run import launch_run, trainer_process
from openlora.tools.patch_hyperparams import patch_hyperparams
from openlora.tools.read_telemetry import read_telemetry
from openlora.tools.recall_incidents import recall_incidents
from openlora.tools.relaunch_from_checkpoint import relaunch_from_checkpoint
from openlora.tools.stop_run import stop_run
from openlora.trainer.rundir import RunDir, read_events, read_json


class SupervisionCancelled(RuntimeError):
    """The client asked the supervisor to stop watching (the trainer itself keeps running)."""


def _say(runtime: Runtime[Context], node: str, text: str) -> dict[str, Any]:
    entry = {"t": round(time.time(), 3), "node": node, "text": text}
    runtime.context.echo(f"[{node}] {text}")
    return entry


def _goal(state: AgentState) -> Goal:
    return Goal.model_validate(state["goal"])


def inspect_data(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    report = inspect_dataset(runtime.context.tools, "train")
    problems = "; ".join(report["problems"]) or "no problems found"
    return {"dataset": report, "timeline": [_say(runtime, "inspect", f"{report['rows']} rows, {problems}")]}


def refuse(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Stop before the first attempt: the data has a problem no training setting can fix."""
    blocking = state["dataset"].get("blocking", [])
    record(state["run_root"], "diagnosis", diagnosis="data_error", attempt=0)
    record(state["run_root"], "state", status="failed")
    finding = {
        "diagnosis": "data_error",
        "evidence": {"blocking": blocking},
        "candidates": [],
    }
    text = (
        "not training: " + "; ".join(blocking) + " — repair the data (or set `bad_data: warn` in the "
        "goal to train anyway)"
    )
    return {
        "finding": finding,
        "attempt": 0,
        "attempts": [],
        "config": {},
        "outcome": "failed",
        "timeline": [_say(runtime, "refuse", text)],
    }


def recall(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    goal = _goal(state)
    memory = runtime.context.memory if goal.memory else None
    query = f"{goal.task}. base model {goal.base_model}. settings: {goal.training}"
    found = recall_incidents(memory, query, k=5)
    text = f"{len(found['incidents'])} similar past incidents" if memory is not None else "memory is off"
    return {"recalled": found, "timeline": [_say(runtime, "recall", text)]}


def plan(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    goal = _goal(state)
    memory = runtime.context.memory if goal.memory else None
    planned = plan_first_config(goal, state["dataset"]["rows"], memory)
    lines = [_say(runtime, "plan", note) for note in planned.notes]
    return {
        "config": planned.config,
        "prior_lr": planned.prior_lr,
        "model_family": planned.model_family,
        "plan_notes": planned.notes,
        "memory_hits": planned.memory_hits,
        "attempt": 1,
        "attempts": [],
        "pending_incident": None,
        "timeline": lines,
    }


def launch(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    launched = launch_run(runtime.context.tools, state["attempt"], state["config"])
    record(state["run_root"], "action", tool="launch_run", outcome="ok", attempt=state["attempt"])
    verb = "reattached to" if launched["reattached"] else "started"
    cfg = state["config"]
    text = (
        f"attempt {state['attempt']}: {verb} the trainer (lr {cfg['learning_rate']:g}, "
        f"batch {cfg['batch_size']}×{cfg['grad_accum']}, seq {cfg['max_seq_len']})"
    )
    return {"timeline": [_say(runtime, "launch", text)]}


def _agent_patches(events: list[dict[str, Any]], attempt: int) -> int:
    return sum(
        1
        for e in events
        if e.get("event") == "patch_applied" and str(e.get("patch_id", "")).startswith(f"a{attempt}-")
    )


def monitor(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Poll the running attempt until it ends; patch it live on a loss spike (bounded per attempt)."""
    ctx, attempt, goal = runtime.context, state["attempt"], _goal(state)
    rd = RunDir(ctx.tools.attempt_dir(attempt))
    lines: list[dict[str, Any]] = []
    last_step_shown = 0
    deadline = state["started_at"] + goal.budget.max_wall_minutes * 60
    while True:
        if ctx.cancelled():
            raise SupervisionCancelled(f"stopped watching attempt {attempt}; `run --resume` reattaches")
        telemetry = read_telemetry(ctx.tools, attempt)
        events = telemetry["events"]
        step = telemetry["last"].get("step") or 0
        if step - last_step_shown >= 25:
            last_step_shown = step
            loss = telemetry["last"].get("loss")
            shown = f"{loss:.4g}" if isinstance(loss, int | float) else loss
            ctx.echo(f"[monitor] attempt {attempt} step {step} loss {shown}")
        if telemetry["result"] is not None and not telemetry["running"]:
            break
        if time.time() > deadline:
            stop_run(ctx.tools, attempt)
            lines.append(_say(runtime, "monitor", "wall-time budget spent: stopped the trainer"))
            continue
        applied = _agent_patches(events, attempt)
        written = str(read_json(rd.control).get("patch_id", "")) if rd.control.exists() else ""
        pending = written.startswith(f"a{attempt}-") and written not in {e.get("patch_id") for e in events}
        live_allowed = goal.approval == "auto" and applied < goal.budget.max_live_patches
        if telemetry["running"] and not pending and live_allowed:
            for finding in live_findings(events, state["config"], state["prior_lr"]):
                decision = _decide(state, runtime, finding, events)
                if decision.live and decision.changes:
                    patch_id = f"a{attempt}-p{applied + 1}"
                    patch_hyperparams(
                        ctx.tools,
                        attempt,
                        patch_id,
                        **{
                            k: v
                            for k, v in decision.changes.items()
                            if k in ("learning_rate", "max_grad_norm")
                        },
                    )
                    record(
                        state["run_root"], "action", tool="patch_hyperparams", outcome="ok", attempt=attempt
                    )
                    record(state["run_root"], "patch", attempt=attempt)
                    lines.append(
                        _say(runtime, "patch", f"{patch_id}: {decision.changes} ({decision.reason})")
                    )
                break
        if telemetry["result"] is None and not telemetry["running"] and trainer_process(rd.root) is None:
            time.sleep(ctx.poll_s)  # the trainer may just have exited; re-read once before concluding
            if not rd.result.exists():
                raise RuntimeError(
                    f"attempt {attempt}: the trainer died without writing result.json (see "
                    f"{rd.root / 'trainer.log'})"
                )
        time.sleep(ctx.poll_s)
    result = telemetry["result"]
    attempt_record = {
        "number": attempt,
        "config": state["config"],
        "status": result["status"],
        "message": result["message"],
        "final_metrics": result.get("final_metrics") or {},
        "run_dir": str(rd.root),
        "patches": [e for e in events if e.get("event") == "patch_applied"],
    }
    lines.append(
        _say(runtime, "monitor", f"attempt {attempt} ended: {result['status']} — {result['message']}")
    )
    return {"attempts": [*state.get("attempts", []), attempt_record], "timeline": lines}


def detect_node(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx, attempt, goal = runtime.context, state["attempt"], _goal(state)
    rd = RunDir(ctx.tools.attempt_dir(attempt))
    result = read_json(rd.result)
    finding = detect(
        result,
        read_events(rd.metrics),
        state["config"],
        goal.success.model_dump(),
        state["prior_lr"],
        data_problems=state["dataset"].get("problems", []),
        longest_example_bytes=state["dataset"].get("max_bytes"),
    )
    lines = [_say(runtime, "detect", finding.summary())]
    record(state["run_root"], "diagnosis", diagnosis=finding.diagnosis.value, attempt=attempt)
    incidents = [
        a
        for a in state["attempts"][:-1]
        if (a.get("finding") or {}).get("diagnosis") not in (None, "healthy")
    ]
    if finding.diagnosis == Diagnosis.HEALTHY and incidents:
        started = float(RunDir(ctx.tools.attempt_dir(incidents[-1]["number"])).result.stat().st_mtime)
        record(state["run_root"], "recovered", seconds=round(time.time() - started, 3), attempt=attempt)
    pending = state.get("pending_incident")
    if pending and ctx.memory is not None and goal.memory:
        outcome = Outcome.FIXED if finding.diagnosis == Diagnosis.HEALTHY else Outcome.NOT_FIXED
        ctx.memory.update_outcome(pending, outcome)
        lines.append(_say(runtime, "memory", f"incident {pending[:12]}: fix {outcome.value}"))
    attempts = state["attempts"]
    attempts[-1] = {**attempts[-1], "finding": _finding_json(finding)}
    return {
        "finding": _finding_json(finding),
        "pending_incident": None,
        "attempts": attempts,
        "timeline": lines,
    }


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "diagnosis": finding.diagnosis.value,
        "evidence": finding.evidence,
        "candidates": [c.__dict__ for c in finding.candidates],
    }


def _finding(data: dict[str, Any]) -> Finding:
    from openlora.agent.detectors import Candidate

    return Finding(
        Diagnosis(data["diagnosis"]), data["evidence"], [Candidate(**c) for c in data["candidates"]]
    )


def _decide(
    state: AgentState, runtime: Runtime[Context], finding: Finding, events: list[dict[str, Any]]
) -> Decision:
    """Ask the advisor (constrained tool call) to choose among the candidates; validate; fall back."""
    ctx, goal = runtime.context, _goal(state)
    memory = ctx.memory if goal.memory else None
    symptom = Symptom(finding.diagnosis.value, state["model_family"], losses(events), config=state["config"])
    recalled = recall_incidents(memory, symptom.signature(), k=5, model_family=state["model_family"])
    memory_text = (
        "\n".join(
            f"- {f['fix']['action']} {f['fix']['changes']}: worked {f['worked']}, failed {f['failed']}"
            for f in recalled["fixes"][:4]
        )
        or "- nothing similar remembered"
    )
    candidates = "\n".join(f"- {c.action}: {c.changes} ({c.why})" for c in finding.candidates)
    settings = {
        k: state["config"][k]
        for k in (
            "learning_rate",
            "batch_size",
            "grad_accum",
            "max_seq_len",
            "warmup_steps",
            "max_grad_norm",
            "max_steps",
        )
    }
    prompt = render(
        "decide",
        task=goal.task[:300],
        model_family=state["model_family"],
        attempt=state["attempt"],
        max_attempts=goal.budget.max_attempts,
        settings=settings,
        finding=finding.summary(),
        curve=describe_curve(losses(events)) or "no steps",
        candidates=candidates,
        memory=memory_text,
        samples="\n".join(state["dataset"].get("samples", [])),
    )
    schema = decision_schema(finding)
    tool = StructuredTool.from_function(
        func=lambda **kwargs: kwargs,
        name="choose_fix",
        description="Choose one candidate fix.",
        args_schema=create_model("ChooseFix", __base__=AdvisorChoice),
    )
    tool_spec = {
        "type": "function",
        "function": {"name": "choose_fix", "description": tool.description, "parameters": schema},
    }
    model = AdvisorChatModel(advisor=ctx.advisor).bind(tools=[tool_spec])
    message = model.invoke(
        [SystemMessage("You are the training supervisor. Reply with one tool call."), HumanMessage(prompt)]
    )
    raw: Any = message.tool_calls[0]["args"] if message.tool_calls else str(message.content)
    decision = validate_choice(raw, finding, state["config"], state["prior_lr"])
    latency = ctx.advisor.latencies[-1] if ctx.advisor.latencies else None
    record(
        state["run_root"],
        "decision",
        latency_s=latency,
        diagnosis=finding.diagnosis.value,
        source=decision.source,
        attempt=state["attempt"],
    )
    record(state["run_root"], "memory", hits=len(recalled["incidents"]), attempt=state["attempt"])
    grafana = _grafana()
    if grafana is not None:
        from openlora.observability.grafana import post_annotation

        error = post_annotation(
            *grafana,
            run=_run_id(state),
            action=decision.action,
            text=f"{finding.diagnosis.value}: {decision.action} {decision.changes} — {decision.reason}",
        )
        if error:
            ctx.echo(f"[grafana] annotation not posted: {error}")
    if ctx.registry is not None:
        ctx.registry.record_decision(
            _run_id(state),
            state["attempt"],
            decision.action,
            decision.changes,
            decision.reason,
            decision.source,
            decision.diagnosis,
        )
    decision.memory = recalled["fixes"][:4]
    return decision


def _grafana() -> tuple[str, str] | None:
    from openlora.observability.grafana import configured

    return configured()


def _run_id(state: AgentState) -> str:
    from pathlib import Path

    return Path(state["run_root"]).name


def decide(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx, attempt = runtime.context, state["attempt"]
    finding = _finding(state["finding"])
    events = read_events(RunDir(ctx.tools.attempt_dir(attempt)).metrics)
    decision = _decide(state, runtime, finding, events)
    refused = f" (the advisor's choice was refused: {decision.rejected})" if decision.rejected else ""
    text = f"{finding.diagnosis.value} → {decision.action} {decision.changes} — {decision.reason}"
    text += f" [{decision.source}]"
    lines = [_say(runtime, "decide", text + refused)]
    attempts = state["attempts"]
    attempts[-1] = {**attempts[-1], "decision": decision.to_json()}
    return {"decision": decision.to_json(), "attempts": attempts, "timeline": lines}


def review(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """With ``approval: ask``, wait for the person (a LangGraph interrupt); then remember the incident.

    The verdict arrives already checked by the runner (see ``approval``); it is checked again here.
    """
    from langgraph.types import interrupt

    from openlora.agent.approval import apply_verdict, parse_verdict, proposal

    ctx, goal, attempt = runtime.context, _goal(state), state["attempt"]
    decision = state["decision"]
    lines: list[dict[str, Any]] = []
    if goal.approval == "ask" and decision["action"] != "stop":
        asked = proposal(decision, state["config"], attempt, state["prior_lr"])
        verdict = parse_verdict(interrupt(asked))
        decision = apply_verdict(decision, verdict, state["config"], state["prior_lr"])
        record(state["run_root"], "approval", choice=verdict.choice, attempt=attempt)
        if ctx.registry is not None:
            ctx.registry.record_decision(
                _run_id(state),
                attempt,
                decision["action"],
                decision["changes"],
                decision["reason"],
                "person",
                decision["diagnosis"],
            )
        lines.append(
            _say(runtime, "approval", f"{verdict.choice}: {decision['action']} {decision['changes']}")
        )
    finding = _finding(state["finding"])
    incident_id = None
    if decision["action"] != "stop" and ctx.memory is not None and goal.memory:
        events = read_events(RunDir(ctx.tools.attempt_dir(attempt)).metrics)
        symptom = Symptom(
            finding.diagnosis.value,
            state["model_family"],
            losses(events),
            error_tail=str(finding.evidence.get("error", "")),
            config=state["config"],
            dataset_stats={"rows": state["dataset"]["rows"]},
        )
        incident_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{state['run_root']}#{attempt}").hex
        ctx.memory.add(
            NewIncident(
                symptom,
                Fix(decision["action"], decision["changes"]),
                run_id=_run_id(state),
                attempt=attempt,
                config=state["config"],
                id=incident_id,
            )
        )
        lines.append(_say(runtime, "memory", f"incident {incident_id[:12]} recorded (outcome pending)"))
    attempts = state["attempts"]
    attempts[-1] = {**attempts[-1], "decision": decision}
    return {"decision": decision, "pending_incident": incident_id, "attempts": attempts, "timeline": lines}


def relaunch(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx, attempt = runtime.context, state["attempt"]
    changes = dict(state["decision"]["changes"])
    lines = []
    if state["decision"]["action"] == "filter_data":
        from pathlib import Path

        from openlora.synthesis.filtering import filter_unsupported

        target = Path(state["run_root"]) / "data" / f"filtered-for-attempt-{attempt + 1}.jsonl"
        filtered = filter_unsupported(Path(state["config"]["dataset"]), target)
        changes = {"dataset": filtered["target"]}
        lines.append(
            _say(
                runtime,
                "data",
                f"kept {filtered['kept']} rows, dropped lines {filtered['dropped_lines'][:10]}",
            )
        )
    # Continue from the last checkpoint only when the fix trains further (more steps); a checkpoint at
    # the end of a finished run would otherwise make the relaunch a no-op, and a broken run's weights
    # (NaN, divergence, saturation at a bad lr) are not worth keeping.
    extends = "max_steps" in changes and state["decision"]["action"] == "more_steps"
    fresh = not extends or state["finding"]["diagnosis"] in (
        "nan",
        "diverged",
        "oom",
        "hallucination",
        "format_failure",
    )
    launched = relaunch_from_checkpoint(ctx.tools, attempt, changes, use_checkpoint=not fresh)
    record(state["run_root"], "action", tool="relaunch_from_checkpoint", outcome="ok", attempt=attempt + 1)
    record(state["run_root"], "relaunch", attempt=attempt + 1)
    config = read_json(RunDir(ctx.tools.attempt_dir(attempt + 1)).spec)
    origin = launched["from_checkpoint"] or "scratch"
    text = f"attempt {attempt + 1} from {origin} with {changes}"
    return {
        "attempt": attempt + 1,
        "config": config,
        "finding": None,
        "timeline": [_say(runtime, "relaunch", text)],
    }


def evaluate(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Score the adapter against its base; more hallucination or failed formats is a data problem."""
    from openlora.agent.detectors import quality_finding
    from openlora.tools.score_outputs import score_outputs

    goal, attempt = _goal(state), state["attempt"]
    settings = goal.evaluation
    if settings.samples == 0:
        return {"timeline": [_say(runtime, "evaluate", "evaluation skipped (samples: 0)")]}
    scored = score_outputs(runtime.context.tools, attempt, settings.samples, settings.json, settings.labels)
    record(state["run_root"], "action", tool="score_outputs", outcome="ok", attempt=attempt)
    summary = scored["summary"]
    adapter, base = summary["adapter"], summary.get("base", {})
    text = (
        f"{scored['samples']} held-out samples: token F1 {adapter['token_f1']:.3f} "
        f"(base {base.get('token_f1', 0):.3f}), hallucination rate {adapter['hallucination_rate']:.2f} "
        f"(base {base.get('hallucination_rate', 0):.2f})"
    )
    lines = [_say(runtime, "evaluate", text)]
    evaluation = {"attempt": attempt, "samples": scored["samples"], "summary": summary}
    finding = quality_finding(summary, settings.model_dump(), state["config"]["dataset"])
    attempts = state["attempts"]
    attempts[-1] = {**attempts[-1], "evaluation": evaluation}
    if finding is None:
        return {"evaluation": evaluation, "attempts": attempts, "timeline": lines}
    lines.append(_say(runtime, "detect", finding.summary()))
    attempts[-1]["finding"] = _finding_json(finding)
    return {
        "evaluation": evaluation,
        "attempts": attempts,
        "finding": _finding_json(finding),
        "timeline": lines,
    }


def export(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    goal, root = _goal(state), state["run_root"]
    extra = [f for f in goal.outputs if f != "adapter"]
    if not extra:
        record(root, "state", status="success")
        return {
            "outcome": "success",
            "exports": {"adapter": "exports/adapter"},
            "timeline": [_say(runtime, "export", "adapter written by the trainer")],
        }
    from openlora.tools.export_model import export_model

    try:
        exported = export_model(runtime.context.tools, state["attempt"], extra)
    except Exception as exc:
        record(root, "action", tool="export_model", outcome="error", attempt=state["attempt"])
        record(root, "state", status="export_failed")
        return {
            "outcome": "export_failed",
            "exports": {"error": str(exc)},
            "timeline": [_say(runtime, "export", f"export failed: {exc}")],
        }
    record(root, "action", tool="export_model", outcome="ok", attempt=state["attempt"])
    record(root, "state", status="success")
    return {
        "outcome": "success",
        "exports": exported,
        "timeline": [_say(runtime, "export", f"exported {', '.join(exported)}")],
    }


def give_up(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    finding = state.get("finding") or {}
    decision = state.get("decision") or {}
    if decision.get("source") == "person" and decision.get("action") == "stop":
        reason = str(decision.get("reason"))
    elif decision.get("action") == "stop":
        reason = "the advisor chose to stop"
    else:
        reason = "the attempt budget is spent"
    record(state["run_root"], "state", status="failed")
    return {
        "outcome": "failed",
        "timeline": [_say(runtime, "stop", f"{reason} ({finding.get('diagnosis')})")],
    }


def report_node(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    from openlora.agent.report import write_report

    paths = write_report(state)
    return {"timeline": [_say(runtime, "report", f"{paths['md']}")]}


def budget_left(state: AgentState) -> bool:
    goal = _goal(state)
    return state["attempt"] < goal.budget.max_attempts and time.time() < state["started_at"] + (
        goal.budget.max_wall_minutes * 60
    )
