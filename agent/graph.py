"""The supervisor as a LangGraph state machine; routers name their exits in their return types."""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph

from openlora.agent import nodes
from openlora.agent.context import Context
from openlora.agent.state import AgentState


def after_inspect(state: AgentState) -> Literal["recall", "refuse"]:
    blocked = state["dataset"].get("blocking") and state["goal"].get("bad_data", "stop") == "stop"
    return "refuse" if blocked else "recall"


def after_detect(state: AgentState) -> Literal["evaluate", "decide", "give_up"]:
    if state["finding"]["diagnosis"] == "healthy":
        return "evaluate"
    return "decide" if nodes.budget_left(state) else "give_up"


def after_evaluate(state: AgentState) -> Literal["export", "decide"]:
    finding = state.get("finding") or {}
    data_problem = finding.get("diagnosis") in ("hallucination", "format_failure")
    return "decide" if data_problem and nodes.budget_left(state) else "export"


def after_review(state: AgentState) -> Literal["relaunch", "give_up"]:
    return "give_up" if state["decision"]["action"] == "stop" else "relaunch"


def build_graph() -> StateGraph:
    builder = StateGraph(AgentState, context_schema=Context)
    builder.add_node("inspect_data", nodes.inspect_data)
    builder.add_node("refuse", nodes.refuse)
    builder.add_node("recall", nodes.recall)
    builder.add_node("plan", nodes.plan)
    builder.add_node("launch", nodes.launch)
    builder.add_node("monitor", nodes.monitor)
    builder.add_node("detect", nodes.detect_node)
    builder.add_node("decide", nodes.decide)
    builder.add_node("review", nodes.review)
    builder.add_node("relaunch", nodes.relaunch)
    builder.add_node("evaluate", nodes.evaluate)
    builder.add_node("export", nodes.export)
    builder.add_node("give_up", nodes.give_up)
    builder.add_node("report", nodes.report_node)
    builder.add_edge(START, "inspect_data")
    builder.add_conditional_edges("inspect_data", after_inspect)
    builder.add_edge("refuse", "report")
    builder.add_edge("recall", "plan")
    builder.add_edge("plan", "launch")
    builder.add_edge("launch", "monitor")
    builder.add_edge("monitor", "detect")
    builder.add_conditional_edges("detect", after_detect)
    builder.add_conditional_edges("evaluate", after_evaluate)
    builder.add_edge("decide", "review")
    builder.add_conditional_edges("review", after_review)
    builder.add_edge("relaunch", "monitor")
    builder.add_edge("export", "report")
    builder.add_edge("give_up", "report")
    builder.add_edge("report", END)
    return builder
