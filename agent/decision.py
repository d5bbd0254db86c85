"""Decisions as tool calls: the detectors' candidates become the calls the advisor may make.

:func:`allowed_calls` turns a :class:`Finding`'s candidates into tool specs for constrained
decoding: per candidate, the registered tool's own argument schema (from the registry) restricted to
the arguments the candidate sets, each fixed to the rules' value or, where the candidate allows it,
a number within ``[low, high]``. The advisor's answer is one such call.

:func:`validate_choice` checks that answer again in Python, in this order: it must parse as a call
of a registered tool; the tool's own schema must accept its arguments (types and the trainer's
bounds — llama.cpp's grammar does not enforce numeric bounds); it must be one of the allowed calls
(fixed arguments equal, ranged ones inside their range); and the settings it produces must respect
the caps (:func:`check_changes`) and give a valid training config. An answer that fails any check is
replaced by the rules' best candidate, and the decision records why. The reason a person reads is
always the rule's, composed from the evidence; the advisor writes no prose.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from openlora.agent.candidates import stop
from openlora.agent.records import Candidate, Decision, DecisionSource, Finding, ToolCall, changes_of
from openlora.tools import registry
from openlora.tools.context import ToolContext
from openlora.trainer.config import TrainConfig

LR_FACTOR_MIN, LR_FACTOR_MAX = 0.1, 2.0
RANGE_TOLERANCE = 1e-6
# Values the supervisor binds when a call is only being checked (the real ones are bound at execution).
_CHECK_BINDINGS = {"attempt": 1, "from_attempt": 1, "patch_id": "check", "use_checkpoint": False}


ENUM_INTEGERS = 64  # an integer range this small is an enum, which the grammar enforces (bounds it does not)


def _range_schema(value: Any, low: float, high: float) -> dict[str, Any]:
    """The schema of one ranged argument: a number within ``[low, high]``; an integer range of at most
    :data:`ENUM_INTEGERS` values is spelled out, so constrained decoding cannot leave it."""
    if isinstance(value, int) and not isinstance(value, bool):
        first, last = math.ceil(low), math.floor(high)
        if last - first < ENUM_INTEGERS:
            return {"type": "integer", "enum": list(range(first, last + 1))}
        return {"type": "integer", "minimum": low, "maximum": high}
    return {"type": "number", "minimum": low, "maximum": high}


def _argument_schema(candidate: Candidate) -> dict[str, Any]:
    properties = registry.chooser_schema(candidate.tool).get("properties", {})
    narrowed: dict[str, Any] = {}
    for name, value in candidate.call.args.items():
        if name in candidate.ranges:
            low, high = candidate.ranges[name]
            narrowed[name] = _range_schema(value, low, high)
        else:
            narrowed[name] = {"enum": [value]}
        if "description" in properties.get(name, {}):
            narrowed[name]["description"] = properties[name]["description"]
    return {
        "type": "object",
        "properties": narrowed,
        "required": sorted(narrowed),
        "additionalProperties": False,
    }


def candidates_of(finding: Finding) -> list[Candidate]:
    """The calls allowed on ``finding``: its candidates, or only a stop when it has none."""
    return finding.candidates or [stop("no candidate fix")]


def allowed_calls(finding: Finding) -> list[dict[str, Any]]:
    """One OpenAI-style tool spec per candidate: the tool's name, description and narrowed schema."""
    candidates = candidates_of(finding)
    return [
        {
            "type": "function",
            "function": {
                "name": c.tool,
                "description": registry.get_tool(c.tool).description,
                "parameters": _argument_schema(c),
            },
        }
        for c in candidates
    ]


def describe_candidates(finding: Finding) -> str:
    """The candidates as calls, one a line, for the prompt (the rules' best first)."""
    lines = []
    for c in candidates_of(finding):
        ranges = "; ".join(f"{k} may be {lo:.3g} to {hi:.3g}" for k, (lo, hi) in c.ranges.items())
        lines.append(f"- {c.call.text()}: {c.why}" + (f" ({ranges})" if ranges else ""))
    return "\n".join(lines)


def lr_bounds(lr: float, prior_lr: float) -> tuple[float, float]:
    """The learning rates one decision may set: ×0.1–×2 of ``lr``, or the size prior (a known-safe value)."""
    return min(lr * LR_FACTOR_MIN, prior_lr), max(lr * LR_FACTOR_MAX, prior_lr)


def check_changes(config: dict[str, Any], changes: dict[str, Any], prior_lr: float) -> None:
    """Raise ValueError unless ``changes`` respect the caps and give a valid training config."""
    lr = float(config["learning_rate"])
    if "learning_rate" in changes:
        new = float(changes["learning_rate"])
        low, high = lr_bounds(lr, prior_lr)
        if not (low * 0.999 <= new <= high * 1.001):
            raise ValueError(
                f"learning_rate {new:g} is outside ×{LR_FACTOR_MIN}–×{LR_FACTOR_MAX} of {lr:g} "
                f"(or the prior {prior_lr:g})"
            )
    try:
        TrainConfig.model_validate({**config, **changes})
    except ValidationError as exc:
        raise ValueError(f"changes {changes} give an invalid config: {exc.errors()[0]['msg']}") from None


class _Refused(ValueError):
    """The advisor's call is refused; ``shaped`` says whether it had the schema's shape."""

    def __init__(self, reason: str, shaped: bool) -> None:
        super().__init__(reason)
        self.shaped = shaped


def parse_call(raw: Any) -> ToolCall:
    """A ToolCall from the advisor's output: JSON text or a dict ``{"name", "arguments"|"args"}``."""
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise _Refused(f"not a JSON tool call: {exc.msg} (got {str(raw)[:80]!r})", shaped=False) from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise _Refused(f"not a tool call (got {str(raw)[:80]!r})", shaped=False)
    args = data.get("arguments", data.get("args", {}))
    if not isinstance(args, dict):
        raise _Refused(f"{data['name'][:64]}: arguments must be an object", shaped=False)
    return ToolCall(tool=data["name"][:64], args=args)


def _in_range(value: Any, low: float, high: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    slack = RANGE_TOLERANCE * max(abs(low), abs(high), 1e-12)
    return low - slack <= float(value) <= high + slack


def match_candidate(call: ToolCall, finding: Finding) -> Candidate:
    """The allowed call ``call`` is an instance of; _Refused when it is none of them."""
    for candidate in candidates_of(finding):
        if candidate.tool != call.tool or set(candidate.call.args) != set(call.args):
            continue
        fixed = {k: v for k, v in candidate.call.args.items() if k not in candidate.ranges}
        if any(call.args[k] != v for k, v in fixed.items()):
            continue
        outside = [k for k, (lo, hi) in candidate.ranges.items() if not _in_range(call.args[k], lo, hi)]
        if outside:
            lo, hi = candidate.ranges[outside[0]]
            raise _Refused(
                f"{call.tool}: {outside[0]} {str(call.args[outside[0]])[:40]} is outside the allowed "
                f"{lo:.3g}–{hi:.3g}",
                shaped=True,
            )
        return candidate
    raise _Refused(f"{call.text()[:160]} is not one of the allowed calls", shaped=False)


def _check_bindings(tool: str) -> dict[str, Any]:
    """Stand-ins for the supervised arguments, so the chooser's part of a call can be validated alone."""
    if tool not in registry.TOOLS:
        return {}
    fields = registry.get_tool(tool).args_schema.model_fields
    return {"ctx": ToolContext(Path("."))} | {k: v for k, v in _CHECK_BINDINGS.items() if k in fields}


def _checked_call(raw: Any, finding: Finding) -> tuple[ToolCall, Candidate]:
    call = parse_call(raw)
    try:
        registry.validate_call(call.tool, call.args, _check_bindings(call.tool))
    except registry.ToolCallError as exc:
        raise _Refused(str(exc), shaped=exc.out_of_bounds) from None
    return call, match_candidate(call, finding)


def validate_choice(raw: Any, finding: Finding, config: dict[str, Any], prior_lr: float) -> Decision:
    """Turn the advisor's call into a Decision, or fall back to the rules' best candidate."""
    try:
        call, candidate = _checked_call(raw, finding)
        check_changes(config, changes_of(call), prior_lr)
    except _Refused as exc:
        return _fallback(finding, config, prior_lr, str(exc), schema_valid=exc.shaped)
    except ValueError as exc:  # the caps, or the resulting config
        return _fallback(finding, config, prior_lr, str(exc), schema_valid=True)
    return Decision(
        diagnosis=finding.diagnosis,
        action=candidate.action,
        call=call,
        reason=candidate.why,
        source=DecisionSource.ADVISOR,
    )


def rules_decision(finding: Finding) -> Decision:
    """The rules' best candidate, as chosen (no advisor asked)."""
    best = candidates_of(finding)[0]
    return Decision(
        diagnosis=finding.diagnosis,
        action=best.action,
        call=best.call,
        reason=best.why,
        source=DecisionSource.RULES,
    )


def _fallback(
    finding: Finding, config: dict[str, Any], prior_lr: float, reason: str, schema_valid: bool
) -> Decision:
    """The rules' best candidate, recorded as such with why the advisor's call was refused."""
    decision = rules_decision(finding)
    check_changes(config, decision.changes, prior_lr)
    return decision.model_copy(
        update={"rejected": reason.splitlines()[0][:300], "schema_valid": schema_valid}
    )
