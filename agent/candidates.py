"""Builders of the calls the detectors may propose: relaunch with a fix, patch live, filter or extend the
data, stop.

A candidate is one call of a registered tool (``tools.registry``) with the rules' arguments and,
where the advisor may choose, a numeric range; the tool's own schema bounds every value again.
"""

from __future__ import annotations

from typing import Any

from openlora.agent.records import Action, Candidate, ToolCall

RELAUNCH_TOOL = "relaunch_from_checkpoint"
PATCH_TOOL = "patch_hyperparams"
FILTER_TOOL = "relaunch_on_filtered_data"
SYNTHESIZE_TOOL = "relaunch_on_synthesized_data"
STOP_TOOL = "stop_run"


def relaunch(
    action: Action, why: str, ranges: dict[str, tuple[float, float]] | None = None, **settings: Any
) -> Candidate:
    """The next attempt with ``settings`` changed (``ranges``: how far the advisor may move each one)."""
    call = ToolCall(tool=RELAUNCH_TOOL, args={"fix": action.value, **settings})
    return Candidate(action=action, call=call, ranges=ranges or {}, why=why)


def patch(
    action: Action, why: str, ranges: dict[str, tuple[float, float]] | None = None, **settings: Any
) -> Candidate:
    """A live patch of the running attempt through control.json."""
    return Candidate(
        action=action, call=ToolCall(tool=PATCH_TOOL, args=settings), ranges=ranges or {}, why=why
    )


def filter_data(why: str) -> Candidate:
    """The next attempt on the rows whose answers only state facts their prompts support."""
    return Candidate(action=Action.FILTER_DATA, call=ToolCall(tool=FILTER_TOOL), why=why)


def synthesize(why: str, pairs: int, ranges: dict[str, tuple[float, float]] | None = None) -> Candidate:
    """The next attempt on the training rows plus ``pairs`` pairs the advisor writes from them."""
    call = ToolCall(tool=SYNTHESIZE_TOOL, args={"pairs": pairs})
    return Candidate(action=Action.SYNTHESIZE_DATA, call=call, ranges=ranges or {}, why=why)


def stop(why: str) -> Candidate:
    """End the goal: nothing a setting can fix."""
    return Candidate(action=Action.STOP, call=ToolCall(tool=STOP_TOOL), why=why)
