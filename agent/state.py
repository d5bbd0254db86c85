"""The supervisor's state: plain JSON-able values, so LangGraph can checkpoint it in SQLite.

Nodes return partial updates; ``timeline`` accumulates (each node appends what it did and why).
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


class AgentState(TypedDict, total=False):
    goal: dict[str, Any]
    run_root: str
    started_at: float
    dataset: dict[str, Any]
    recalled: dict[str, Any]
    plan_notes: list[str]
    memory_hits: list[dict[str, Any]]
    prior_lr: float
    model_family: str
    attempt: int
    config: dict[str, Any]
    attempts: list[dict[str, Any]]
    finding: dict[str, Any] | None
    decision: dict[str, Any] | None
    pending_incident: str | None
    outcome: str
    exports: dict[str, Any]
    evaluation: dict[str, Any]
    timeline: Annotated[list[dict[str, Any]], operator.add]
