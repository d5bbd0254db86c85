"""The strategies under test, each given the same attempts and wall time on the same broken case.

- ``openlora`` / ``openlora_no_memory``: the real supervisor (``run_goal``) with the embedded advisor,
  with and without the incident memory.
- ``rules_only``: the same supervisor with an advisor that never answers, so every decision is the
  detectors' default fix (and the memory is off).
- ``naive_retry``: the broken config again with a new seed until the budget is spent.
- ``reset_default``: the broken config once, then the planner's default config for the model size
  (what "start over from a known-good default" means when you do not know the task's best config).
- ``optuna_tpe``: Optuna's TPE over lr, batch, warmup and steps, its first trial the broken config,
  a failed trial scored as a large penalty.

Each returns an :class:`Outcome` built from what the run folders say, not from the strategy's claims.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.brokenlora.trials import Trial, train_once, training_seconds

FAILED_SCORE = 20.0  # what Optuna is told a failed trial scored (the loss of a broken run is larger)


@dataclass
class Env:
    """Everything a strategy may use for one case: the broken config and the budget."""

    case: Any
    seed: int
    broken: dict[str, Any]
    target: float
    prior_lr: float
    workdir: Path
    max_attempts: int
    max_wall_s: float


@dataclass
class Outcome:
    reached_target: bool
    attempts: int
    failed_seconds: float
    final_val: float | None
    interventions: int = 0
    raised_lr: bool = False
    first_met: bool | None = None  # whether attempt 1 (the case as configured) met the target
    decisions: list[dict[str, Any]] = field(default_factory=list)  # advisor decisions (openlora only)


def _attempts_from_trials(trials: list[Trial], target: float) -> Outcome:
    reached = (
        bool(trials) and trials[-1].status == "completed" and (trials[-1].val_loss or math.inf) <= target
    )
    failed = sum(t.seconds for t in (trials[:-1] if reached else trials))
    return Outcome(
        reached,
        len(trials),
        failed,
        trials[-1].val_loss if trials else None,
        max(0, len(trials) - 1),
        first_met=_met(trials[0], target) if trials else None,
    )


def _met(trial: Trial, target: float) -> bool:
    return _completed_below(trial.status, trial.val_loss, target)


def _completed_below(status: str, val_loss: float | None, target: float) -> bool:
    """An attempt met the target: it completed, with a validation loss at or under it."""
    return status == "completed" and val_loss is not None and val_loss <= target


def naive_retry(env: Env) -> Outcome:
    trials: list[Trial] = []
    began = time.monotonic()
    for attempt in range(env.max_attempts):
        if time.monotonic() - began > env.max_wall_s:
            break
        trial = train_once(
            {**env.broken, "seed": env.seed * 100 + attempt}, env.workdir / f"retry-{attempt + 1}"
        )
        trials.append(trial)
        if _met(trial, env.target):
            break
    return _attempts_from_trials(trials, env.target)


def default_config(env: Env) -> dict[str, Any]:
    """The planner's first config for this model and data, with none of the case's pinned settings."""
    from openlora.agent.goal import Goal
    from openlora.agent.planner import plan_first_config

    keep = {k: env.broken[k] for k in ("num_threads", "memory_limit_gb", "val_fraction") if k in env.broken}
    goal = Goal.model_validate(
        {
            "name": env.broken["name"],
            "task": "bench",
            "base_model": env.broken["base_model"],
            "dataset": env.broken["dataset"],
            "success": {"val_loss_below": env.target},
            "training": keep,
        }
    )
    rows = sum(
        1 for line in Path(env.broken["dataset"]).read_text(errors="replace").splitlines() if line.strip()
    )
    return plan_first_config(goal, rows, None).config


def reset_default(env: Env) -> Outcome:
    trials = [train_once(env.broken, env.workdir / "broken")]
    began = time.monotonic()
    if not _met(trials[0], env.target):
        default = default_config(env)
        for attempt in range(1, env.max_attempts):
            if time.monotonic() - began > env.max_wall_s:
                break
            trial = train_once(
                {**default, "seed": env.seed * 100 + attempt}, env.workdir / f"default-{attempt}"
            )
            trials.append(trial)
            if _met(trial, env.target):
                break
    return _attempts_from_trials(trials, env.target)


def optuna_tpe(env: Env) -> Outcome:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=env.seed, n_startup_trials=1)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    first = {k: env.broken.get(k) for k in ("learning_rate", "batch_size", "warmup_steps", "max_steps")}
    study.enqueue_trial(
        {
            "learning_rate": min(max(float(first["learning_rate"]), 1e-7), 100.0),
            "batch_size": int(first["batch_size"]),
            "warmup_steps": int(first.get("warmup_steps") or 0),
            "max_steps": int(first.get("max_steps") or 60),
        }
    )
    trials: list[Trial] = []
    began = time.monotonic()

    def objective(trial: Any) -> float:
        settings = {
            "learning_rate": trial.suggest_float("learning_rate", 1e-7, 100.0, log=True),
            "batch_size": trial.suggest_categorical("batch_size", [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]),
            "warmup_steps": trial.suggest_int("warmup_steps", 0, 20),
            "max_steps": trial.suggest_int("max_steps", 3, 400),
        }
        result = train_once({**env.broken, **settings}, env.workdir / f"tpe-{len(trials) + 1}")
        trials.append(result)
        if _met(result, env.target):
            study.stop()
        return (
            result.val_loss if result.status == "completed" and result.val_loss is not None else FAILED_SCORE
        )

    for _ in range(env.max_attempts):
        if time.monotonic() - began > env.max_wall_s or (trials and _met(trials[-1], env.target)):
            break
        study.optimize(objective, n_trials=1)
    return _attempts_from_trials(trials, env.target)


class SilentAdvisor:
    """An advisor that never answers: every decision falls back to the detectors' default fix."""

    def __init__(self) -> None:
        self.latencies: list[float] = []

    def complete_json(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        self.latencies.append(0.0)
        return ""


def _goal_file(env: Env, memory: bool) -> Path:
    goal = {
        "name": env.case.name.replace("_", "-"),
        "task": f"bench case {env.case.name}",
        "base_model": env.broken["base_model"],
        "dataset": env.broken["dataset"],
        "success": {"val_loss_below": round(env.target, 6)},
        "budget": {"max_attempts": env.max_attempts, "max_wall_minutes": env.max_wall_s / 60},
        "training": {
            k: v for k, v in env.broken.items() if k not in ("name", "base_model", "dataset", "val_dataset")
        },
        "evaluation": {"samples": 0},
        "memory": memory,
    }
    if env.broken.get("val_dataset"):
        goal["eval_dataset"] = env.broken["val_dataset"]
    env.workdir.mkdir(parents=True, exist_ok=True)
    goal_path = env.workdir / "goal.yaml"
    goal_path.write_text(yaml.safe_dump(goal), encoding="utf-8")
    return goal_path


def _decision_measures(record: Any, prior_lr: float | None) -> dict[str, Any]:
    """What the benchmark counts about one attempt's decision (``record`` is an AttemptRecord),
    including whether the reason the report shows for it fails the explanation check (it must name its
    diagnosis and the settings it changed, and read as well-formed text)."""
    from openlora.agent.decision import check_changes
    from openlora.agent.explanations import explanation_problems

    decision = record.decision
    out_of_bounds = False
    if not decision.stops:
        try:
            check_changes(record.config, decision.changes, prior_lr)
        except ValueError:
            out_of_bounds = True
    new_lr = decision.changes.get("learning_rate")
    return {
        "source": decision.source.value,
        "schema_valid": decision.schema_valid,
        "out_of_bounds": out_of_bounds,
        "action": decision.action.value,
        "raised_lr": new_lr is not None and new_lr > record.config["learning_rate"],
        "reason_problems": explanation_problems(
            decision.explanation(), decision.diagnosis.value, decision.changes
        ),
    }


def _supervised(env: Env, memory: bool, advisor: Any = None) -> Outcome:
    from openlora.agent.runner import run_goal
    from openlora.trainer.rundir import RunDir, read_events

    goal_path = _goal_file(env, memory)
    final = run_goal(goal_path, env.workdir / "runs", echo=lambda _: None, poll_s=0.1, advisor=advisor)
    attempts, reached = final.attempts, final.outcome == "success"
    failed = 0.0
    decisions = []
    for record in attempts:
        seconds = training_seconds(read_events(RunDir(Path(record.run_dir)).metrics))
        if record is not attempts[-1] or not reached:
            failed += seconds
        if record.decision:
            decisions.append(_decision_measures(record, final.prior_lr))
    raised = any([d.pop("raised_lr") for d in decisions])  # a list: every decision loses the key
    patches = sum(len(a.patches) for a in attempts)
    last_val = attempts[-1].final_metrics.get("val_loss") if attempts else None
    return Outcome(
        reached,
        len(attempts),
        failed,
        last_val,
        interventions=len([d for d in decisions if d["action"] != "stop"]) + patches,
        raised_lr=raised,
        decisions=decisions,
        first_met=(
            _completed_below(attempts[0].status, attempts[0].final_metrics.get("val_loss"), env.target)
            if attempts
            else None
        ),
    )


def openlora(env: Env) -> Outcome:
    return _supervised(env, memory=True)


def openlora_no_memory(env: Env) -> Outcome:
    return _supervised(env, memory=False)


def rules_only(env: Env) -> Outcome:
    return _supervised(env, memory=False, advisor=SilentAdvisor())


STRATEGIES = {
    "openlora": openlora,
    "openlora_no_memory": openlora_no_memory,
    "rules_only": rules_only,
    "naive_retry": naive_retry,
    "reset_default": reset_default,
    "optuna_tpe": optuna_tpe,
}
MEMORY_STRATEGIES = ("openlora", "openlora_no_memory")
