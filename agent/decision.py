"""A decision of the advisor, validated again in Python before any tool runs.

The advisor's JSON is parsed into :class:`AdvisorChoice` (``extra="forbid"``, enums, finite bounded
numbers). The chosen action must be one of the detectors' candidates (``stop`` only where the
detectors propose it: a tiny advisor may not abandon a fixable run with budget left); its ``lr_factor``
may scale a learning-rate candidate only within ×0.1–×2 of the current lr, and the lr may always
move to the safe prior (down after a NaN, up from an lr far below it). The resulting settings are
validated by the trainer's own config model.
A choice that fails any check is replaced by the rules' best candidate, and that is recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openlora.agent.detectors import Candidate, Finding
from openlora.trainer.config import TrainConfig

LR_FACTOR_MIN, LR_FACTOR_MAX = 0.1, 2.0
ACTIONS = (
    "lower_lr",
    "raise_lr",
    "add_warmup",
    "clip_gradients",
    "reduce_batch",
    "shorten_sequences",
    "gradient_checkpointing",
    "more_steps",
    "early_stop",
    "restructure_data",
    "fix_columns",
    "default_targets",
    "stop",
)


class AdvisorChoice(BaseModel):
    """What the advisor may say."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    diagnosis: str = Field(..., max_length=32)
    action: str = Field(..., max_length=32)
    lr_factor: float = Field(1.0, ge=LR_FACTOR_MIN, le=LR_FACTOR_MAX)
    reason: str = Field("", max_length=300)


@dataclass
class Decision:
    """The validated decision the agent acts on."""

    diagnosis: str
    action: str
    changes: dict[str, Any]
    reason: str
    source: str  # "advisor" or "rules" (fallback)
    live: bool = False
    rejected: str | None = None  # why the advisor's own choice was refused, if it was
    memory: list[dict[str, Any]] = field(default_factory=list)  # ranked fixes memory offered
    rule: str = ""  # the detectors' rationale for the chosen candidate
    schema_valid: bool = True  # the advisor's raw answer parsed as an AdvisorChoice (bounds aside)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def decision_schema(finding: Finding) -> dict[str, Any]:
    """JSON schema for constrained decoding: enums for diagnosis and action, bounded numbers."""
    actions = sorted({c.action for c in finding.candidates}) or ["stop"]
    return {
        "type": "object",
        "properties": {
            "diagnosis": {"type": "string", "enum": [finding.diagnosis.value]},
            "action": {"type": "string", "enum": actions},
            "lr_factor": {"type": "number", "minimum": LR_FACTOR_MIN, "maximum": LR_FACTOR_MAX},
            "reason": {"type": "string", "maxLength": 80},
        },
        "required": ["diagnosis", "action", "lr_factor", "reason"],
        "additionalProperties": False,
    }


def _scaled_lr(candidate: Candidate, factor: float, current_lr: float, prior_lr: float) -> dict[str, Any]:
    """Let the advisor's factor move an lr candidate, within the caps."""
    changes = dict(candidate.changes)
    if "learning_rate" not in changes or factor == 1.0:
        return changes
    proposed = current_lr * factor
    if candidate.action in ("lower_lr", "add_warmup", "clip_gradients") and factor < 1.0:
        changes["learning_rate"] = min(changes["learning_rate"], max(proposed, current_lr * LR_FACTOR_MIN))
    elif (
        candidate.action == "raise_lr"
        and factor > 1.0
        and changes["learning_rate"] <= current_lr * LR_FACTOR_MAX
    ):
        changes["learning_rate"] = min(proposed, current_lr * LR_FACTOR_MAX)  # (a jump to the prior stays)
    return changes


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


def validate_choice(
    raw: str | dict[str, Any], finding: Finding, config: dict[str, Any], prior_lr: float
) -> Decision:
    """Turn the advisor's output into a Decision, or fall back to the rules' best candidate."""
    fallback = finding.candidates[0] if finding.candidates else Candidate("stop", {}, "no candidate fix")
    on_schema = False
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
        choice = AdvisorChoice.model_validate(data)
        if choice.diagnosis != finding.diagnosis.value:
            raise ValueError(
                f"diagnosis {choice.diagnosis!r} differs from the detectors' {finding.diagnosis.value!r}"
            )
        candidate = next((c for c in finding.candidates if c.action == choice.action), None)
        if candidate is None:
            raise ValueError(f"action {choice.action!r} is not one of the candidates")
        on_schema = True
        changes = _scaled_lr(candidate, choice.lr_factor, float(config["learning_rate"]), prior_lr)
        check_changes(config, changes, prior_lr)
        return Decision(
            finding.diagnosis.value,
            candidate.action,
            changes,
            choice.reason.strip() or candidate.why,
            "advisor",
            live=candidate.live,
            rule=candidate.why,
        )
    except ValidationError as exc:
        reason = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r})" for e in exc.errors()
        )
        decision = _fallback(finding, fallback, config, prior_lr, reason)
        decision.schema_valid = False
        return decision
    except (ValueError, TypeError) as exc:
        decision = _fallback(finding, fallback, config, prior_lr, str(exc))
        # Schema-shaped answers (enums respected) can still fail the caps on the resulting settings.
        decision.schema_valid = on_schema
        return decision


def _fallback(
    finding: Finding, fallback: Candidate, config: dict[str, Any], prior_lr: float, reason: str
) -> Decision:
    """The rules' best candidate, recorded as such with why the advisor's choice was refused."""
    check_changes(config, fallback.changes, prior_lr)
    return Decision(
        finding.diagnosis.value,
        fallback.action,
        dict(fallback.changes),
        fallback.why,
        "rules",
        live=fallback.live,
        rejected=reason.splitlines()[0][:300],
        rule=fallback.why,
    )
