"""The first config of a goal: priors from model size and dataset size, then what memory says.

Priors: LoRA learning rate 1e-2 below 20 M parameters, 1e-3 below 1 B, 2e-4 above; a few epochs
over small datasets. Settings pinned in the goal's ``training`` block are kept as given. Memory:
when a past incident of the same model family failed with the very settings planned here and a
fix then worked, the planner starts from the fixed settings and records why.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openlora.agent.goal import Goal
from openlora.memory.incidents import IncidentMemory
from openlora.memory.records import Outcome
from openlora.trainer.config import EMBEDDED_BASE


@dataclass
class Plan:
    config: dict[str, Any]
    prior_lr: float
    model_family: str
    notes: list[str] = field(default_factory=list)
    memory_hits: list[dict[str, Any]] = field(default_factory=list)


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


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=0.1)
    return a == b


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
    plan = Plan(config, prior, family, notes)
    if memory is not None and memory.count():
        _apply_memory(plan, memory)
    return plan


def _apply_memory(plan: Plan, memory: IncidentMemory) -> None:
    query = (
        f"model family {plan.model_family}. settings: learning_rate {plan.config['learning_rate']}, "
        f"batch_size {plan.config['batch_size']}, max_seq_len {plan.config['max_seq_len']}"
    )
    for hit in memory.search(query, k=20, model_family=plan.model_family):
        incident = hit.incident
        if incident.outcome != Outcome.FIXED or incident.fix is None:
            continue
        changed = incident.fix.changes
        failing = {k: incident.config.get(k) for k in changed}
        if changed and all(_close(plan.config.get(k), v) for k, v in failing.items()):
            plan.config.update(changed)
            plan.notes.append(
                f"memory: {incident.diagnosis.value} with {failing} was fixed by "
                f"{incident.fix.action} {changed}; starting from the fix"
            )
            plan.memory_hits.append(
                {
                    "incident": incident.id,
                    "similarity": round(hit.similarity, 3),
                    "diagnosis": incident.diagnosis.value,
                    "fix": incident.fix.to_json(),
                }
            )
            return
