"""The supervisor as a LangGraph state machine; routers name their exits in their return types.

inspect_data → plan → probe → launch → monitor → detect → (evaluate → export | decide → review → relaunch →
monitor …) → report; inspect_data → refuse → report when the data cannot be trained on; review →
give_up → report when the decision is to stop; relaunch → report when the fix could not be
applied. Where each node lives: ``prepare`` (inspect, refuse,
plan, launch), ``probe`` (the learning-rate range test), ``monitor``, ``diagnose`` (detect,
evaluate), ``act`` (decide, review, relaunch, give_up), ``finish`` (export, report, publish). After the
report, a goal that succeeded and has ``publish:`` goes on to publish (then ends); every other goal ends.
"""

from __future__ import annotations

import time
from typing import Literal

from langgraph.graph import END, START, StateGraph

from openlora.agent import act, diagnose, finish, monitor, prepare, probe
from openlora.agent.context import Context
from openlora.agent.records import Diagnosis, GoalStatus
from openlora.agent.state import AgentState

DATA_DIAGNOSES = (Diagnosis.HALLUCINATION, Diagnosis.FORMAT_FAILURE)


def budget_left(state: AgentState) -> bool:
    """Attempts and wall time left; the time attempts spent downloading a hub model is not counted."""
    budget = state["goal"].budget
    downloads = monitor.download_seconds(state["run_root"], state["attempt"])
    return (
        state["attempt"] < budget.max_attempts
        and time.time() < state["started_at"] + budget.max_wall_minutes * 60 + downloads
    )


def after_inspect(state: AgentState) -> Literal["plan", "refuse"]:
    blocked = state["dataset"].blocking and state["goal"].bad_data == "stop"
    return "refuse" if blocked else "plan"


def after_detect(state: AgentState) -> Literal["evaluate", "decide", "give_up"]:
    if state["finding"].diagnosis == Diagnosis.HEALTHY:
        return "evaluate"
    return "decide" if budget_left(state) else "give_up"


def after_evaluate(state: AgentState) -> Literal["export", "decide"]:
    finding = state.get("finding")
    data_problem = finding is not None and finding.diagnosis in DATA_DIAGNOSES
    return "decide" if data_problem and budget_left(state) else "export"


def after_review(state: AgentState) -> Literal["relaunch", "give_up"]:
    return "give_up" if state["decision"].stops else "relaunch"


def after_report(state: AgentState) -> Literal["publish", "__end__"]:
    """A goal that succeeded and names a Hub repo is published; every other goal ends with its report."""
    succeeded = state.get("outcome") == GoalStatus.SUCCESS
    return "publish" if succeeded and state["goal"].publish is not None else END


def after_relaunch(state: AgentState) -> Literal["monitor", "report"]:
    """The next attempt runs, unless the fix could not be applied (the goal has failed then)."""
    return "report" if state.get("outcome") else "monitor"


def build_graph() -> StateGraph:
    builder = StateGraph(AgentState, context_schema=Context)
    for name, node in [
        ("inspect_data", prepare.inspect_data),
        ("refuse", prepare.refuse),
        ("plan", prepare.plan),
        ("probe", probe.probe),
        ("launch", prepare.launch),
        ("monitor", monitor.monitor),
        ("detect", diagnose.detect_node),
        ("evaluate", diagnose.evaluate),
        ("decide", act.decide),
        ("review", act.review),
        ("relaunch", act.relaunch),
        ("give_up", act.give_up),
        ("export", finish.export),
        ("report", finish.report),
        ("publish", finish.publish),
    ]:
        builder.add_node(name, node)
    builder.add_edge(START, "inspect_data")
    builder.add_conditional_edges("inspect_data", after_inspect)
    builder.add_edge("refuse", "report")
    builder.add_edge("plan", "probe")
    builder.add_edge("probe", "launch")
    builder.add_edge("launch", "monitor")
    builder.add_edge("monitor", "detect")
    builder.add_conditional_edges("detect", after_detect)
    builder.add_conditional_edges("evaluate", after_evaluate)
    builder.add_edge("decide", "review")
    builder.add_conditional_edges("review", after_review)
    builder.add_conditional_edges("relaunch", after_relaunch)
    builder.add_edge("export", "report")
    builder.add_edge("give_up", "report")
    builder.add_conditional_edges("report", after_report)
    builder.add_edge("publish", END)
    return builder
