"""``python -m bench.brokenlora [--quick] [--seeds 3] [--tier tiny|smollm2] [--cases a,b] [--strategies a,b]
[--controls N] [--engine process|ray [--ray local|ADDRESS]]``

Prints one line per strategy and case as they finish, then the summary table; writes
``bench/results/brokenlora[-smollm2][-quick].json`` and ``.md`` (per-strategy measures, tables per fault
class and per case, every row, and the validity check: planted faults that met the target as configured).
``--quick``: one seed, 3 healthy controls (the full run has 7 per seed, so 21 over
3 seeds measure interventions per 20 healthy runs). ``--smoke``: two cases, one seed, one control,
every strategy but ``openlora_no_memory`` (the same supervisor as ``openlora`` with its memory off;
what CI runs).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from bench.brokenlora.report import markdown, not_faults, per_case_table, summarize
from bench.brokenlora.run import run_grid
from bench.brokenlora.strategies import STRATEGIES

RESULTS = Path(__file__).resolve().parent.parent / "results"
SMOKE_STRATEGIES = [name for name in STRATEGIES if name != "openlora_no_memory"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.brokenlora", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, 3 healthy controls")
    parser.add_argument("--smoke", action="store_true", help="two cases, one seed (CI)")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (0, 1, …)")
    parser.add_argument("--tier", choices=["tiny", "smollm2"], default="tiny")
    parser.add_argument(
        "--cases", default="", help="names or patterns ('healthy_*'), comma-separated (default: all)"
    )
    parser.add_argument(
        "--strategies", default=None, help="comma-separated strategies (default: all; --smoke: all but one)"
    )
    parser.add_argument(
        "--controls",
        type=int,
        default=None,
        help="healthy controls per seed (default: 1 smoke, 3 quick, 7 full)",
    )
    parser.add_argument("--max-attempts", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--engine",
        choices=["process", "ray"],
        default="process",
        help="process: a pool of --workers processes; ray: one Ray task per strategy and reference",
    )
    parser.add_argument(
        "--ray",
        default="local",
        metavar="local|ADDRESS",
        help="with --engine ray: the cluster (default: local)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--name", default=None, help="results file stem (default: brokenlora[-smoke | -TIER][-quick])"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep run folders here (default: temporary)"
    )
    return parser


def _rows(args: argparse.Namespace, seeds: list[int], strategies: list[str]) -> list[dict]:
    """Every strategy on every case and seed, in ``--workdir`` or a temporary folder."""
    names = [c for c in args.cases.split(",") if c] or None
    if args.smoke:
        names = names or ["nan_lr", "healthy_kv"]
    default_controls = 1 if args.smoke else 3 if args.quick else 7
    controls = args.controls if args.controls is not None else default_controls
    with tempfile.TemporaryDirectory(prefix="brokenlora-") as temp:
        root = args.workdir or Path(temp)
        root.mkdir(parents=True, exist_ok=True)
        if args.tier == "tiny":
            from tests.fixtures.tiny_models import build_tiny_model

            base = str(build_tiny_model(root / "tiny-llama", "llama"))
        else:
            base = "embedded:smollm2"
        return run_grid(
            args.tier,
            base,
            seeds,
            strategies,
            root,
            names,
            args.max_attempts,
            args.workers,
            controls,
            args.engine,
            args.ray,
        )


def main(argv: list[str] | None = None) -> dict:
    parser = _parser()
    args = parser.parse_args(argv)
    default = SMOKE_STRATEGIES if args.smoke else list(STRATEGIES)
    strategies = [s for s in args.strategies.split(",") if s] if args.strategies else default
    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown:
        parser.error(f"unknown strategies {unknown}; known: {', '.join(STRATEGIES)}")
    seeds = [0] if (args.quick or args.smoke) else list(range(args.seeds))
    began = time.monotonic()
    rows = _rows(args, seeds, strategies)
    minutes = (time.monotonic() - began) / 60
    summary = summarize(rows, strategies)
    meta = {
        "tier": args.tier,
        "seeds": seeds,
        "cases": len({r["case"] for r in rows}),
        "max_attempts": args.max_attempts,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPU cores, no GPU",
        "minutes": minutes,
    }
    table = markdown(summary, meta)
    print("\n" + table)
    tier = "" if args.tier == "tiny" else f"-{args.tier}"
    suffix = "-smoke" if args.smoke else f"{tier}-quick" if args.quick else f"-{args.tier}"
    stem = args.name or f"brokenlora{suffix}"
    invalid = not_faults(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(
        json.dumps(
            {"meta": meta | {"not_faults": invalid}, "strategies": summary, "rows": rows},
            indent=1,
            default=str,
        )
    )
    validity = (
        "Validity: every planted fault missed the target as configured.\n"
        if not invalid
        else f"Validity: these planted faults met the target as configured (not faults here): {invalid}\n"
    )
    unreadable = {n: m["unreadable_reasons"] for n, m in summary.items() if m.get("unreadable_reasons")}
    reasons = "Reasons shown to a person: " + (
        "every one passes the explanation check (names its diagnosis and the settings it changes).\n"
        if not unreadable
        else f"these fail the explanation check: {unreadable}\n"
    )
    print(validity + reasons)
    (args.out / f"{stem}.md").write_text(
        table
        + "\n"
        + validity
        + reasons
        + "\nPer fault class (handled / runs):\n\n"
        + per_case_table(summary, by_class=True)
        + "\nPer case (handled / runs):\n\n"
        + per_case_table(summary)
    )
    return summary


if __name__ == "__main__":
    main()
