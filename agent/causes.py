"""Diagnosis by cause: which out-of-range setting explains how an attempt ended.

A symptom (underfit, plateau, divergence, NaN, overfit, a data error) has a short list of settings
that can cause it, each with the direction that causes it (:data:`CAUSES`): a learning rate far
below the size prior, or warmup that kept the schedule from its peak, explains a run that did not
learn; a learning rate far above it, or clipping turned off, explains one that blew up. When the
attempt's checks (pre-flight quantities on its config, and what it recorded live) show such a
setting out of range, the finding names it with its figures and its candidates become the fixes
those checks give — first all of them together when several are out of range — instead of the
symptom's generic fixes ("underfit → more steps" is kept only when no setting explains it).
"""

from __future__ import annotations

from typing import Any

from openlora.agent.candidates import relaunch
from openlora.agent.evidence import Check, Verdict
from openlora.agent.records import Action, Candidate, Diagnosis, Finding

LOW, HIGH = Verdict.LOW, Verdict.HIGH
_NOT_LEARNING = (
    ("unfittable_examples", HIGH),
    ("dropped_examples", HIGH),
    ("dropped_share", HIGH),
    ("lr_vs_prior", LOW),
    ("lr_reached", LOW),
    ("warmup_share", HIGH),
    ("lora_scale", LOW),
    ("weight_decay", HIGH),
    ("adam_beta1", HIGH),
    ("sequence_fill", LOW),
    ("optimizer_steps", LOW),  # after the settings above: too few steps at a bad lr is the lr's fault
)
_BLOWING_UP = (
    ("lr_vs_prior", HIGH),
    ("lora_scale", HIGH),
    ("grad_clipping", HIGH),
    ("adam_beta2", LOW),
    ("adam_beta1", LOW),
    ("grad_norm_rise", HIGH),
)
CAUSES: dict[Diagnosis, tuple[tuple[str, Verdict], ...]] = {
    Diagnosis.UNDERFIT: _NOT_LEARNING,
    Diagnosis.PLATEAU: (*_NOT_LEARNING, ("lr_vs_prior", HIGH)),
    Diagnosis.DIVERGED: (*_BLOWING_UP, ("divergence_guard", LOW)),
    Diagnosis.NAN: _BLOWING_UP,
    Diagnosis.OVERFIT: (("passes", HIGH), ("lora_dropout", LOW)),
    Diagnosis.DATA_ERROR: (("unfittable_examples", HIGH), ("dropped_share", HIGH)),
}


def causes_of(diagnosis: Diagnosis, checks: list[Check]) -> list[Check]:
    """The out-of-range checks (with a fix) that can explain ``diagnosis``, in :data:`CAUSES` order,
    one per config key (a live figure first where it and a pre-flight estimate judge the same key)."""
    wanted = CAUSES.get(diagnosis, ())
    found: list[Check] = []
    for quantity, verdict in wanted:
        for check in checks:
            matches = check.quantity == quantity and check.verdict == verdict and check.fix
            if matches and not any(set(check.fix) & set(other.fix) for other in found):
                found.append(check)
    return sorted(found, key=lambda c: c.stage != "live")


def _action(change: dict[str, Any], config: dict[str, Any]) -> Action:
    """The action a settings change is, named as the rules name it (so memory matches past fixes)."""
    if len(change) != 1:
        return Action.FIX_SETTING
    ((key, value),) = change.items()
    before = config.get(key)
    lower = isinstance(value, int | float) and isinstance(before, int | float) and value < before
    named = {
        "learning_rate": Action.LOWER_LR if lower else Action.RAISE_LR,
        "max_grad_norm": Action.CLIP_GRADIENTS,
        "max_seq_len": Action.SHORTEN_SEQUENCES if lower else Action.FIX_SETTING,
        "warmup_steps": Action.FIX_SETTING if lower else Action.ADD_WARMUP,
        "max_steps": Action.EARLY_STOP if lower else Action.MORE_STEPS,
    }
    return named.get(key, Action.FIX_SETTING)


def _candidate(checks: list[Check], config: dict[str, Any]) -> Candidate:
    change: dict[str, Any] = {}
    for check in checks:
        change |= check.fix
    why = "; ".join(check.text() for check in checks)
    return relaunch(_action(change, config), why, **change)


def explain(finding: Finding, checks: list[Check], config: dict[str, Any]) -> Finding:
    """``finding`` with the cause named and its fixes as candidates, when a check explains it. A check
    whose fix would change nothing (the config already has those values) explains nothing."""
    useful = [c for c in checks if any(config.get(k) != v for k, v in c.fix.items())]
    causes = causes_of(finding.diagnosis, useful)
    if not causes:
        return finding
    candidates = [_candidate([cause], config) for cause in causes]
    if len(causes) > 1:
        candidates.insert(0, _candidate(causes, config))
    named = [
        {
            "quantity": c.quantity,
            "keys": c.keys,
            "value": c.value,
            "figure": c.figure(c.value),
            "healthy": c.healthy(),
            "stage": c.stage,
        }
        for c in causes
    ]
    return finding.model_copy(
        update={"evidence": finding.evidence | {"cause": named}, "candidates": candidates}
    )
