"""Running the grid: references and targets per case, each strategy in its own process and memory home.

For every seed the cases are drawn, their data written, and the task's reference config trained once
(not counted): its first-step loss ``L0`` and final validation loss ``L_ref`` set the goal's target,
``L0 - TARGET_SHARE * (L0 - L_ref)``. A healthy control is its own reference (the reference config
with the control's training seed), so it meets its goal as configured. Each strategy then runs every
case in a fresh OPENLORA_HOME (strategies run two at a time on two cores; each trainer uses one
thread). The memory strategies then meet each repeatable fault class again (fault size redrawn) with
what they remembered, which measures the memory effect.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.brokenlora.cases import SMOLLM_REFERENCE, TINY_REFERENCE, Case, draw_cases, write_dataset

TARGET_SHARE = 0.5
REPEATED = ("nan_lr", "lr_too_low", "too_few_steps", "oom_batch")  # fault classes met a second time
CLEAN_FOR = {"garbled_file": "clean", "masked": "clean", "shuffled_noise": "clean"}


def reference_config(tier: str) -> dict[str, Any]:
    return dict(TINY_REFERENCE if tier == "tiny" else SMOLLM_REFERENCE)


def prepare(
    tier: str, base: str, seed: int, root: Path, names: list[str] | None, controls: int = 3
) -> list[dict[str, Any]]:
    """Cases with their data, broken config, reference losses and target (references run here)."""
    from bench.brokenlora.trials import train_once

    prepared, references = [], {}
    for case in draw_cases(seed, tier, controls):
        if names and case.name not in names:
            continue
        data = write_dataset(case, root / "data", seed)
        broken = {
            **reference_config(tier),
            "name": case.name,
            "base_model": base,
            "dataset": str(data),
            **case.overrides,
        }
        if case.kind == "control":
            # A healthy run with its own training seed; its target comes from itself, so it meets its
            # goal as configured and the only right action is to leave it alone.
            broken["seed"] = seed * 100 + 1 + case.control_index
            key: tuple[Any, ...] = ("control", case.name)
            reference = {**broken, "name": "reference"}
        else:
            key = (case.task, case.rows, CLEAN_FOR.get(case.data, case.data))
            clean = Case(case.name + "-clean", case.fault, case.task, case.expect, rows=case.rows)
            clean_data = write_dataset(clean, root / "data", seed) if case.data != "clean" else data
            reference = {
                **reference_config(tier),
                "name": "reference",
                "base_model": base,
                "dataset": str(clean_data),
            }
        if key not in references:
            trial = train_once(reference, root / "references" / "-".join(map(str, key)))
            if trial.status != "completed" or trial.val_loss is None or trial.first_loss is None:
                raise RuntimeError(
                    f"the reference of {case.name} did not train: {trial.status} {trial.message}"
                )
            references[key] = (trial.first_loss, trial.val_loss)
        first, ref_val = references[key]
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
) -> list[dict[str, Any]]:
    import multiprocessing

    rows: list[dict[str, Any]] = []
    for seed in seeds:
        prepared = prepare(tier, base, seed, root / f"seed-{seed}", names, controls)
        repeat_names = [n for n in REPEATED if not names or n in names]
        repeats = (
            prepare(tier, base, seed + 1000, root / f"seed-{seed}-repeat", repeat_names)
            if repeat_names
            else []
        )
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, max_tasks_per_child=1) as pool:
            futures = [
                pool.submit(run_strategy, s, prepared, repeats, root / f"seed-{seed}", seed, attempts)
                for s in strategies
            ]
            for future in as_completed(futures):
                rows.extend(future.result())
        (root / f"rows-seed-{seed}.json").write_text(json.dumps(rows, default=str, indent=1))
    return rows
