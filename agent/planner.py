"""The first config of a goal: priors from model size and dataset size, then what memory says.

Priors: LoRA learning rate 1e-2 below 20 M parameters, 1e-3 below 1 B, 2e-4 above; a few epochs
over small datasets. Settings pinned in the goal's ``training`` block are kept as given. Memory:
when a past incident of the same model family failed with settings the planned ones would fail like
(the same, or further out than the fix moved away from) and a fix then worked — in one step or over
several attempts of that run — the planner starts from the fixed settings and records why.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openlora.agent.evidence import Check
from openlora.agent.goal import Goal
from openlora.memory.incidents import IncidentMemory
from openlora.memory.records import Incident, Outcome
from openlora.trainer.config import EMBEDDED_BASE


class Plan(BaseModel):
    """The first attempt's config and what it was derived from."""

    model_config = ConfigDict(extra="forbid")

    config: dict[str, Any] = Field(..., description="The first attempt's training config.")
    prior_lr: float = Field(..., description="The learning-rate prior for the model's size.")
    params: float = Field(0.0, description="Estimated parameters of the base model.")
    model_family: str = Field(..., description="Architecture family (llama, gpt2, ...).")
    notes: list[str] = Field(default_factory=list, description="Why each setting is what it is.")
    memory_hits: list[dict[str, Any]] = Field(default_factory=list, description="Remembered fixes applied.")
    preflight: list[Check] = Field(default_factory=list, description="Every setting judged before attempt 1.")
    lr_probe: dict[str, Any] | None = Field(None, description="The learning-rate range test, when one ran.")
    memory_probe: dict[str, Any] | None = Field(None, description="The memory probe's trials, when it ran.")

    def holders(self, pinned: Iterable[str]) -> dict[str, str]:
        """Who holds each setting the supervisor may not plan: "the goal" for the ``pinned`` keys,
        "memory" for keys a remembered fix set (memory wins: its value is the one in the config)."""
        held = dict.fromkeys(pinned, "the goal")
        return held | {key: "memory" for hit in self.memory_hits for key in hit["fix"]["changes"]}

    def held_reason(self, key: str, pinned: Iterable[str]) -> str | None:
        """Why the supervisor may not plan ``key`` (None when it may), in the timeline's words."""
        holder = self.holders(pinned).get(key)
        if holder is None:
            return None
        return f"the goal pins {key}" if holder == "the goal" else f"a remembered fix set {key}"


def estimate_params(base_model: str) -> tuple[float, str]:
    """Rough parameter count and model family, read from config.json or GGUF metadata only."""
    if base_model == EMBEDDED_BASE:
        return 135e6, "llama"
    path = Path(base_model)
    if path.is_dir() and (path / "config.json").is_file():
        cfg = json.loads((path / "config.json").read_text())
        hidden = cfg.get("hidden_size") or cfg.get("n_embd") or 0
        layers = cfg.get("num_hidden_layers") or cfg.get("n_layer") or 0
        return 12 * layers * hidden**2 + 2 * cfg.get("vocab_size", 0) * hidden, cfg.get(
            "model_type", "unknown"
        )
    if path.suffix == ".gguf" and path.is_file():
        import gguf

        reader = gguf.GGUFReader(str(path))
        arch = str(reader.fields["general.architecture"].contents())
        hidden = int(reader.fields[f"{arch}.embedding_length"].contents())
        layers = int(reader.fields[f"{arch}.block_count"].contents())
        return 12 * layers * hidden**2, arch
    return 7e9, "unknown"


def prior_learning_rate(params: float) -> float:
    return 1e-2 if params < 20e6 else 1e-3 if params < 1e9 else 2e-4


SLACK = 2.0  # a planned value within this factor of one that failed counts as failing the same way
LR_CONTEXT = 10.0  # a remembered fix that leaves the lr alone applies only within this factor of its lr


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fails_like(planned: Any, failed: Any, fixed: Any) -> bool:
    """Would ``planned`` fail the way ``failed`` did? Equal, or further out than the fix moved away from.

    A fix that lowered a setting (lr 30 → 0.01) says the failing value was too high, so a planned value
    at least about as high (≥ failed / SLACK) fails the same way; a fix that raised it, the mirror image.
    Non-numeric settings (columns, target modules) must match exactly.
    """
    if _number(planned) and _number(failed) and _number(fixed):
        if fixed < failed:
            return planned >= failed / SLACK
        if fixed > failed:
            return planned <= failed * SLACK
        return math.isclose(float(planned), float(failed), rel_tol=0.1)
    return planned == failed


def plan_first_config(goal: Goal, rows: int, memory: IncidentMemory | None) -> Plan:
    params, family = estimate_params(goal.base_model)
    prior = prior_learning_rate(params)
    pinned = goal.training
    config = goal.base_config().model_dump()
    notes = [f"~{params / 1e6:.1f}M parameters ({family}): prior lr {prior:g}"]
    if "learning_rate" not in pinned:
        config["learning_rate"] = prior
    if "max_steps" not in pinned and "epochs" not in pinned:
        config["epochs"] = 3.0 if rows < 1000 else 1.0
        notes.append(f"{rows} rows: {config['epochs']:g} epochs")
    config["outputs"] = ["adapter"]  # exports are the agent's last step, after success
    plan = Plan(config=config, prior_lr=prior, params=params, model_family=family, notes=notes)
    if memory is not None and memory.count():
        _apply_memory(plan, memory)
    return plan


def _similar_lr(planned: dict[str, Any], then: dict[str, Any]) -> bool:
    lr, then_lr = planned.get("learning_rate"), then.get("learning_rate")
    if not (_number(lr) and _number(then_lr)) or lr <= 0 or then_lr <= 0:
        return True
    return max(lr / then_lr, then_lr / lr) <= LR_CONTEXT


def _fix_chain(memory: IncidentMemory, first: Incident) -> tuple[dict[str, Any], list[str]] | None:
    """The changes that finally fixed ``first``: its own fix, or the fixes of the attempts that followed.

    One incident's fix may only have helped (batch 64 → 32 still ran out of memory, 32 → 16 fixed it);
    what worked is then the sum of the fixes made in that run from ``first`` on, up to the one that fixed.
    """
    if first.fix is None:
        return None
    if first.outcome == Outcome.FIXED:
        return dict(first.fix.changes), [first.fix.action]
    if first.outcome != Outcome.NOT_FIXED or not first.run_id or first.attempt is None:
        return None
    changes: dict[str, Any] = {}
    actions: list[str] = []
    expected = first.attempt
    for incident in sorted(memory.for_run(first.run_id), key=lambda i: i.attempt or 0):
        if incident.attempt is None or incident.attempt < first.attempt:
            continue
        if incident.attempt != expected or incident.fix is None:
            return None
        changes.update(incident.fix.changes)
        actions.append(incident.fix.action)
        if incident.outcome == Outcome.FIXED:
            return changes, actions
        if incident.outcome != Outcome.NOT_FIXED:
            return None
        expected += 1
    return None


def _apply_memory(plan: Plan, memory: IncidentMemory) -> None:
    """Start from a remembered fix when the planned settings would fail like a remembered incident."""
    query = (
        f"model family {plan.model_family}. settings: learning_rate {plan.config['learning_rate']}, "
        f"batch_size {plan.config['batch_size']}, max_seq_len {plan.config['max_seq_len']}"
    )
    for hit in memory.search(query, k=50, model_family=plan.model_family):
        incident = hit.incident
        chain = _fix_chain(memory, incident)
        if chain is None:
            continue
        changed, actions = chain
        failing = {k: incident.config.get(k) for k in changed}
        if not changed or not all(fails_like(plan.config.get(k), failing[k], v) for k, v in changed.items()):
            continue
        if "learning_rate" not in changed and not _similar_lr(plan.config, incident.config):
            continue  # the fix was found at a very different lr: not the same situation
        plan.config.update(changed)
        how = " then ".join(actions)
        plan.notes.append(
            f"memory: {incident.diagnosis.value} with {failing} was fixed by {how} {changed}; "
            "starting from the fix"
        )
        plan.memory_hits.append(
            {
                "incident": incident.id,
                "similarity": round(hit.similarity, 3),
                "diagnosis": incident.diagnosis.value,
                "fix": {"action": how, "changes": changed},
            }
        )
        return
