"""Running the grid: references and targets per case, each strategy in its own process and memory home.

For every seed the cases are drawn, their data written, and the task's reference config trained once
(not counted): its first-step loss ``L0`` and final validation loss ``L_ref`` set the goal's target,
``L0 - TARGET_SHARE * (L0 - L_ref)``. A healthy control is its own reference (the reference config
with the control's training seed), so it meets its goal as configured. Each strategy then runs every
case in a fresh OPENLORA_HOME (strategies run two at a time on two cores; each trainer uses one
thread; ``--engine ray``: each strategy and reference is a Ray task reserving one CPU). The memory
strategies then meet each repeatable fault class again (fault size redrawn) with what they
remembered, which measures the memory effect.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.brokenlora.cases import (
    SMOLLM_REFERENCE,
    TINY_REFERENCE,
    Case,
    draw_cases,
    write_dataset,
    write_eval_dataset,
)

TARGET_SHARE = 0.5
REPEATED = ("nan_lr", "lr_too_low", "too_few_steps", "oom_batch")  # fault classes met a second time
CLEAN_FOR = {"garbled_file": "clean", "masked": "clean", "shuffled_noise": "clean"}


def reference_config(tier: str) -> dict[str, Any]:
    return dict(TINY_REFERENCE if tier == "tiny" else SMOLLM_REFERENCE)


def selected(name: str, patterns: list[str] | None) -> bool:
    """Whether case ``name`` is one ``--cases`` asked for (names or shell patterns such as
    ``healthy_*``; none asks for every case)."""
    return not patterns or any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def prepare(
    tier: str,
    base: str,
    seed: int,
    root: Path,
    names: list[str] | None,
    controls: int = 3,
    workers: int = 2,
    engine: str = "process",
) -> list[dict[str, Any]]:
    """Cases with their data, broken config, reference losses and target (references run here,
    ``workers`` at a time: each is a trainer subprocess; ``engine="ray"``: one Ray task each)."""
    cases, references = [], {}
    for case in draw_cases(seed, tier, controls):
        if not selected(case.name, names):
            continue
        broken, key, reference = _case_configs(tier, base, case, root, seed)
        references.setdefault(key, reference)
        cases.append((case, broken, key))
    measured = _train_references(references, root / "references", workers, engine)
    prepared = []
    for case, broken, key in cases:
        first, ref_val = measured[key]
        prepared.append(
            {
                "case": case,
                "broken": broken,
                "first_loss": first,
                "reference_val": ref_val,
                "target": first - TARGET_SHARE * (first - ref_val),
            }
        )
    return prepared


def _case_configs(
    tier: str, base: str, case: Case, root: Path, seed: int
) -> tuple[dict[str, Any], tuple[Any, ...], dict[str, Any]]:
    """The case's broken config, the key its reference is shared under, and that reference's config."""
    data = write_dataset(case, root / "data", seed)
    broken = {**reference_config(tier), "name": case.name, "base_model": base, "dataset": str(data)}
    broken |= case.overrides
    validation = write_eval_dataset(case, data, root / "data", seed)
    if validation is not None:
        broken["val_dataset"] = str(validation)
    if case.kind == "control":
        # A healthy run with its own training seed; its target comes from itself, so it meets its
        # goal as configured and the only right action is to leave it alone.
        broken["seed"] = seed * 100 + 1 + case.control_index
        return broken, ("control", case.name), {**broken, "name": "reference"}
    key = (case.task, case.rows, CLEAN_FOR.get(case.data, case.data))
    clean = Case(case.name + "-clean", case.fault, case.task, case.expect, rows=case.rows)
    clean_data = write_dataset(clean, root / "data", seed) if case.data != "clean" else data
    reference = {**reference_config(tier), "name": "reference", "base_model": base}
    return broken, key, {**reference, "dataset": str(clean_data)}


def _train_references(
    references: dict[tuple[Any, ...], dict[str, Any]], folder: Path, workers: int, engine: str = "process"
) -> dict[tuple[Any, ...], tuple[float, float]]:
    """Each reference's first-step and final validation loss; a reference that fails stops the bench."""
    from concurrent.futures import ThreadPoolExecutor

    from bench.brokenlora.trials import train_once

    def measure(key: tuple[Any, ...]) -> tuple[float, float]:
        trial = train_once(references[key], folder / "-".join(map(str, key)))
        if trial.status != "completed" or trial.val_loss is None or trial.first_loss is None:
            raise RuntimeError(f"the reference {key} did not train: {trial.status} {trial.message}")
        return trial.first_loss, trial.val_loss

    if engine == "ray":  # each reference a Ray task of one CPU (its trainer trains on one thread)
        from openlora.agent.ray_engine import TaskResources, run_tasks

        keys = list(references)
        values = run_tasks(measure, [(key,) for key in keys], [TaskResources(1.0)] * len(keys))
        return dict(zip(keys, [_raised(v) for v in values], strict=True))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return dict(zip(references, pool.map(measure, references), strict=True))


def _raised(value: Any) -> Any:
    """A Ray task's value, or its exception raised here (as ``future.result()`` does)."""
    if isinstance(value, BaseException):
        raise value
    return value


def run_strategy(
    strategy: str,
    prepared: list[dict[str, Any]],
    repeats: list[dict[str, Any]],
    root: Path,
    seed: int,
    attempts: int,
) -> list[dict[str, Any]]:
    """One strategy over all cases (then the repeats), in this process's own memory home."""
    os.environ["OPENLORA_HOME"] = str(root / "homes" / strategy)
    os.environ.setdefault("OPENLORA_ADVISOR_THREADS", "1")  # two supervisors share two cores
    from bench.brokenlora.strategies import MEMORY_STRATEGIES, STRATEGIES, Env
    from openlora.agent.planner import estimate_params, prior_learning_rate

    rows = []
    passes = [("first", prepared)] + ([("repeat", repeats)] if strategy in MEMORY_STRATEGIES else [])
    for label, items in passes:
        for item in items:
            case = item["case"]
            env = Env(
                case=case,
                seed=seed,
                broken=item["broken"],
                target=item["target"],
                prior_lr=prior_learning_rate(estimate_params(item["broken"]["base_model"])[0]),
                workdir=root / "work" / strategy / label / case.name,
                max_attempts=attempts,
                max_wall_s=600,
            )
            began = time.monotonic()
            try:
                outcome = asdict(STRATEGIES[strategy](env))
                error = None
            except Exception as exc:  # a strategy that crashes fails the case; the message is kept
                outcome = {"reached_target": False, "attempts": 0, "failed_seconds": 0.0, "final_val": None}
                error = f"{type(exc).__name__}: {exc}"[:300]
            row = {
                "strategy": strategy,
                "pass": label,
                "seed": seed,
                "case": case.name,
                "fault": case.fault,
                "kind": case.kind,
                "expect": case.expect,
                "target": item["target"],
                "reference_val": item["reference_val"],
                "first_loss": item["first_loss"],
                "wall_s": round(time.monotonic() - began, 1),
                "error": error,
                **outcome,
            }
            print(
                f"[{strategy:18s}] seed {seed} {label:6s} {case.name:20s} attempts {row['attempts']} "
                f"target {'met' if row['reached_target'] else 'missed'} ({row['wall_s']:.0f} s)"
                + (f" ERROR {error}" if error else ""),
                flush=True,
            )
            rows.append(row)
    return rows


def run_grid(
    tier: str,
    base: str,
    seeds: list[int],
    strategies: list[str],
    root: Path,
    names: list[str] | None,
    attempts: int,
    workers: int,
    controls: int = 3,
    engine: str = "process",
    ray_address: str = "local",
) -> list[dict[str, Any]]:
    """Every strategy on every case, per seed. ``engine``: ``process`` (a process pool of ``workers``)
    or ``ray`` (one Ray task per strategy and reference, on a local cluster or ``ray_address``)."""
    rows: list[dict[str, Any]] = []
    with _engine(engine, ray_address):
        for seed in seeds:
            folder = root / f"seed-{seed}"
            prepared = prepare(tier, base, seed, folder, names, controls, workers, engine)
            repeat_names = [n for n in REPEATED if selected(n, names)]
            repeats = (
                prepare(
                    tier, base, seed + 1000, root / f"seed-{seed}-repeat", repeat_names, 0, workers, engine
                )
                if repeat_names
                else []
            )
            calls = [(s, prepared, repeats, folder, seed, attempts) for s in strategies]
            rows.extend(_run_strategies(calls, workers, engine))
            (root / f"rows-seed-{seed}.json").write_text(json.dumps(rows, default=str, indent=1))
    return rows


def _engine(engine: str, ray_address: str) -> contextlib.AbstractContextManager[Any]:
    """Ray for the whole grid with ``engine="ray"`` (started here, or joined at ``ray_address``)."""
    if engine != "ray":
        return contextlib.nullcontext()
    from openlora.agent.ray_engine import ray_cluster

    return ray_cluster(ray_address)


def _run_strategies(calls: list[tuple[Any, ...]], workers: int, engine: str) -> list[dict[str, Any]]:
    """``run_strategy(*call)`` for each call: in a fresh process each (``workers`` at a time), or as one
    Ray task each reserving one CPU (a fresh worker per task, as the pool's ``max_tasks_per_child=1``)."""
    import multiprocessing

    rows: list[dict[str, Any]] = []
    if engine == "ray":
        from openlora.agent.ray_engine import TaskResources, run_tasks

        names = [f"strategy {call[0]}" for call in calls]
        for value in run_tasks(run_strategy, calls, [TaskResources(1.0)] * len(calls), names=names):
            rows.extend(_raised(value))
        return rows
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, max_tasks_per_child=1) as pool:
        for future in as_completed([pool.submit(run_strategy, *call) for call in calls]):
            rows.extend(future.result())
    return rows
