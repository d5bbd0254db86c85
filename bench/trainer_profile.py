"""Where a training step's time goes: a ``torch.profiler`` table per phase of the OpenLoRA trainer.

The recipe labels each phase of a step with ``torch.profiler.record_function`` (``PHASES`` in
``openlora.trainer.recipe``): data (collating the micro-batches), forward (the loss), backward,
optimizer (clipping, AdamW, the schedule), telemetry (the step event and hardware probe) and control
(hold and live-patch polling). This script trains the bench's run in-process (same model, data and
settings as ``bench/trainer_throughput.py``), profiles the steps after the warm-up, and prints each
phase's share of the wall time, then the operators that take the most time inside forward and
backward. Figures are CPU wall time on this machine's torch threads.

Usage: python bench/trainer_profile.py [--model smollm2|tiny] [--steps 6] [--warmup 2] [--top 15]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.workload import make_dataset, training_settings
from openlora.trainer.config import EMBEDDED_BASE, parse_config
from openlora.trainer.recipe import PHASES, LoRARecipe
from openlora.trainer.rundir import RunDir

RESULTS = Path(__file__).resolve().parent / "results"


def _recipe(workdir: Path, model: str, steps: int, batch_size: int, max_seq_len: int) -> LoRARecipe:
    if model == "tiny":
        from tests.fixtures.tiny_models import build_tiny_model

        base = str(build_tiny_model(workdir / "tiny", "llama"))
    else:
        base = EMBEDDED_BASE
    data = make_dataset(workdir / "data.jsonl", rows=160, seed=0)
    settings = training_settings("profile", base, data, steps, max_seq_len, batch_size)
    run = workdir / "run"
    run.mkdir()
    recipe = LoRARecipe(RunDir(run), parse_config(settings, "profile"))
    recipe.setup()
    return recipe


def _profiled_steps(recipe: LoRARecipe, warmup: int, steps: int) -> tuple[Any, float]:
    for _ in range(warmup):
        recipe._train_step()
    began = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=False) as prof:
        for _ in range(steps):
            recipe._train_step()
            recipe._between_steps()
    return prof, time.perf_counter() - began


def phase_table(prof: Any, wall_s: float) -> list[dict[str, Any]]:
    """Each phase's CPU wall time (its record_function span), its share of the profiled wall time."""
    spans = {e.key: e for e in prof.key_averages() if e.key in PHASES}
    rows = []
    for phase in PHASES:
        event = spans.get(phase)
        total_ms = event.cpu_time_total / 1000 if event else 0.0
        rows.append({"phase": phase.split(".")[-1], "ms": total_ms, "share": total_ms / 1000 / wall_s})
    accounted = sum(r["ms"] for r in rows)
    rows.append({"phase": "other", "ms": wall_s * 1000 - accounted, "share": 1 - accounted / 1000 / wall_s})
    return rows


def top_operators(prof: Any, top: int) -> list[dict[str, Any]]:
    """The operators with the most self CPU time (what the phases are made of)."""
    events = [e for e in prof.key_averages() if e.key not in PHASES and not e.key.startswith("ProfilerStep")]
    events.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1
    return [
        {
            "op": e.key,
            "calls": e.count,
            "self_ms": e.self_cpu_time_total / 1000,
            "share": e.self_cpu_time_total / total,
        }
        for e in events[:top]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["smollm2", "tiny"], default="smollm2")
    parser.add_argument("--steps", type=int, default=6, help="profiled steps (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-seq-len", type=int, default=512)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        recipe = _recipe(Path(tmp), args.model, args.warmup + args.steps, args.batch_size, args.max_seq_len)
        try:
            prof, wall_s = _profiled_steps(recipe, args.warmup, args.steps)
        finally:
            recipe.cleanup()
    phases, operators = phase_table(prof, wall_s), top_operators(prof, args.top)
    threads = torch.get_num_threads()
    print(f"model={args.model} threads={threads} profiled steps={args.steps} wall={wall_s:.2f} s")
    print(f"{'phase':<12}{'ms/step':>10}{'share':>9}")
    for row in phases:
        print(f"{row['phase']:<12}{row['ms'] / args.steps:>10.1f}{row['share']:>9.1%}")
    print(f"\n{'operator (self CPU time)':<48}{'calls/step':>11}{'ms/step':>10}{'share':>8}")
    for row in operators:
        calls, per_step = row["calls"] / args.steps, row["self_ms"] / args.steps
        print(f"{row['op'][:47]:<48}{calls:>11.0f}{per_step:>10.1f}{row['share']:>8.1%}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"trainer_profile_{args.model}.json"
    summary = {"model": args.model, "steps": args.steps, "wall_s": wall_s, "threads": threads}
    summary |= {"phases": phases, "operators": operators}
    out.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
