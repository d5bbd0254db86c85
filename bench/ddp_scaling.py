"""Tokens/s of one trainer process against N DDP processes (torchrun) on the same threads, and the
per-step communication time.

Both runs train the benchmarks' shared workload (``bench/workload.py``) with the same global batch
(batch 4: one process with batch 4, or N processes with batch 4 / N each) for the same steps, one
after the other in one invocation, through the product's own entry points (``python -m
openlora.trainer`` and ``python -m openlora.trainer.ddp_launch``). On CPU the total threads are equal:
one process with T threads, or N processes with T / N each (T: this machine's cores). On CUDA each
rank takes one GPU (``--device cuda``, N: every visible GPU unless ``--procs``).

Printed: real tokens/s over the timed steps (the first ``--warmup`` left out), the mean step time,
and for DDP the mean per-step communication time — the wall time of the step's collectives: the
gradient all-reduce of each DDP bucket from launch to completion (it overlaps the backward pass, so
it is an upper bound of what communication costs) plus the small figure/flag reductions — with its
share of the step. On a 2-core CPU no speed-up is expected: the point is the overhead figure.

Usage: python bench/ddp_scaling.py [--model smollm2|tiny] [--steps 12] [--warmup 2] [--procs 2]
       [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ and tests/ import as packages

from bench.workload import make_dataset, training_settings

GLOBAL_BATCH = 4
RESULTS = Path(__file__).resolve().parent / "results"


def _base(model: str, folder: Path) -> str:
    if model == "smollm2":
        return "embedded:smollm2"
    from tests.fixtures.tiny_models import build_tiny_model

    return str(build_tiny_model(folder / "tiny-llama", "llama"))


def _write_spec(run: Path, settings: dict[str, Any]) -> Path:
    from openlora.trainer.config import parse_config
    from openlora.trainer.rundir import RunDir, write_json_atomic

    run.mkdir(parents=True)
    write_json_atomic(RunDir(run).spec, parse_config(settings, str(run)).model_dump())
    return run


def _train(run: Path, entry: str, threads: int) -> float:
    env = {**os.environ, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": str(threads)}
    began = time.monotonic()
    with (run / "trainer.log").open("wb") as log:
        done = subprocess.run(
            [sys.executable, "-m", entry, str(run)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
    if done.returncode != 0:
        raise SystemExit(f"{entry} failed on {run}; see {run / 'trainer.log'}")
    return time.monotonic() - began


def _figures(run: Path, warmup: int, wall_s: float) -> dict[str, Any]:
    from openlora.trainer.rundir import RunDir, read_events

    steps = [e for e in read_events(RunDir(run).metrics) if e["event"] == "step" and e["step"] > warmup]
    seconds = sum(e["step_time_s"] for e in steps)
    comm = [e["comm_s"] for e in steps if e.get("comm_s") is not None]
    figures = {
        "timed_steps": len(steps),
        "tokens_per_s": round(sum(e["tokens"] for e in steps) / seconds, 1),
        "step_s": round(seconds / len(steps), 4),
        "tokens_per_step": round(sum(e["tokens"] for e in steps) / len(steps), 1),
        "wall_s": round(wall_s, 1),
    }
    if comm:
        figures["comm_s_per_step"] = round(sum(comm) / len(comm), 4)
        figures["comm_share"] = round(figures["comm_s_per_step"] / figures["step_s"], 3)
    return figures


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    base = _base(args.model, folder)
    data = make_dataset(folder / "pairs.jsonl", 200, seed=0)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    procs = args.procs
    if procs is None:
        import torch

        procs = max(1, torch.cuda.device_count()) if args.device == "cuda" else 2
    common = training_settings("ddp-bench", base, data, args.steps, batch_size=GLOBAL_BATCH)
    common |= {"device": args.device, "log_every": 1}
    one = _write_spec(folder / "one", {**common, "num_threads": cores})
    many_settings = {**common, "batch_size": GLOBAL_BATCH // procs, "num_threads": max(1, cores // procs)}
    many_settings["launcher"] = {"kind": "torchrun", "nproc_per_node": procs}
    many = _write_spec(folder / "ddp", many_settings)
    rows = {
        "1 process": _figures(one, args.warmup, _train(one, "openlora.trainer", cores)),
        f"{procs} DDP processes": _figures(
            many, args.warmup, _train(many, "openlora.trainer.ddp_launch", max(1, cores // procs))
        ),
    }
    return {"model": args.model, "device": args.device, "cores": cores, "procs": procs, "rows": rows}


def report(result: dict[str, Any]) -> None:
    rows = result["rows"]
    print(f"\n{result['model']} on {result['device']} ({result['cores']} cores), global batch {GLOBAL_BATCH}")
    header = ("tokens/s", 9), ("step s", 8), ("tokens/step", 12), ("comm s/step", 12), ("comm share", 11)
    print(f"{'':18s} " + " ".join(f"{title:>{width}s}" for title, width in header))
    for name, row in rows.items():
        comm = f"{row['comm_s_per_step']:.4f}" if "comm_s_per_step" in row else "-"
        share = f"{row['comm_share']:.1%}" if "comm_share" in row else "-"
        print(
            f"{name:18s} {row['tokens_per_s']:9.1f} {row['step_s']:8.4f} {row['tokens_per_step']:12.1f} "
            f"{comm:>12s} {share:>11s}"
        )
    single, ddp = rows.values()
    print(f"DDP tokens/s over 1 process: {ddp['tokens_per_s'] / single['tokens_per_s']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["smollm2", "tiny"], default="smollm2")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--procs", type=int, default=None)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ddp-bench-") as tmp:
        result = measure(args, Path(tmp))
    report(result)
    result["measured_at"] = time.strftime("%Y-%m-%d %H:%M")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"ddp_scaling-{args.model}-{args.device}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
