"""One monitor refresh of a long run against one of a short run, measured side by side in one process.

Two supervised-run folders are written: one whose attempt logged ``--long`` steps (100,000 by default:
``metrics.jsonl`` of some 25 MB, a supervisor line every 10 steps), one that logged ``--short`` (100).
A :class:`RunWatch` follows each (its first refresh reads the files once, as when a page opens). Then,
``--rounds`` times, one more step line and one more supervisor line are appended to both runs, and
each watch's :meth:`RunWatch.refresh` is timed, the two runs taking turns. Printed: the median refresh
time of each and their ratio (target ≤ 2: a refresh reads what is new, not the whole file). Printed
beside it, for information, the web page's redraw (``monitor_view``: curves thinned to at most 1000
points a series, the attempt table): it grows with a run until the run has 1000 steps, then no more.

Usage: python bench/monitor_refresh.py [--long 100000] [--short 100] [--rounds 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from openlora.trainer.rundir import GoalDir
from openlora.ui_core.monitor_view import attempt_rows, curves, figures_line
from openlora.ui_core.run_watch import RunWatch


def step_line(step: int) -> str:
    event = {
        "event": "step",
        "time": 1_800_000_000.0 + step,
        "step": step,
        "epoch": round(step / 600, 4),
        "loss": 5.0 / (1 + step / 1000),
        "grad_norm": 0.8,
        "lr": 2e-4,
        "tokens": 212,
        "label_tokens": 69,
        "tokens_per_s": 13183.2,
        "step_time_s": 0.0161,
        "rss_mb": 342.7,
    }
    return json.dumps(event) + "\n"


def write_run(root: Path, steps: int) -> GoalDir:
    """A supervised run folder whose first attempt logged ``steps`` steps (an eval every 50)."""
    desk = GoalDir(root)
    attempt = desk.attempt(1)
    attempt.root.mkdir(parents=True)
    with attempt.metrics.open("w", encoding="utf-8") as metrics, desk.supervisor_log.open("w") as log:
        metrics.write(json.dumps({"event": "run_start", "total_steps": steps}) + "\n")
        for step in range(1, steps + 1):
            metrics.write(step_line(step))
            if step % 50 == 0:
                metrics.write(json.dumps({"event": "eval", "step": step, "val_loss": 5.0}) + "\n")
            if step % 10 == 0:
                log.write(f"[monitor] attempt 1 step {step} loss 4.2\n")
    desk.agent_events.write_text(json.dumps({"event": "state", "status": "running"}) + "\n")
    return desk


def append_one(desk: GoalDir, step: int) -> None:
    with desk.attempt(1).metrics.open("a", encoding="utf-8") as metrics:
        metrics.write(step_line(step))
    with desk.supervisor_log.open("a", encoding="utf-8") as log:
        log.write(f"[monitor] attempt 1 step {step} loss 4.2\n")


def redraw(watch: RunWatch) -> None:
    curves(watch)
    attempt_rows(watch)
    figures_line(watch.current)


def measure(runs: dict[str, tuple[GoalDir, int]], rounds: int) -> dict[str, tuple[list[float], list[float]]]:
    """Per run: the refresh times and the redraw times, the runs taking turns each round."""
    watches = {name: RunWatch(desk.root) for name, (desk, _) in runs.items()}
    for watch in watches.values():
        watch.refresh()  # the page opens: the whole folder is read once
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in runs}
    for n in range(rounds):
        for name, (desk, steps) in runs.items():
            append_one(desk, steps + n + 1)
            start = time.perf_counter()
            update = watches[name].refresh()
            middle = time.perf_counter()
            redraw(watches[name])
            end = time.perf_counter()
            assert update.metrics and update.log_lines, "the refresh missed the appended lines"
            times[name][0].append(middle - start)
            times[name][1].append(end - middle)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--long", type=int, default=100_000)
    parser.add_argument("--short", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="openlora-bench-") as tmp:
        runs = {
            "long": (write_run(Path(tmp) / "long", args.long), args.long),
            "short": (write_run(Path(tmp) / "short", args.short), args.short),
        }
        size = runs["long"][0].attempt(1).metrics.stat().st_size
        times = measure(runs, args.rounds)
    refresh = {name: statistics.median(t[0]) for name, t in times.items()}
    view = {name: statistics.median(t[1]) for name, t in times.items()}
    print(f"metrics.jsonl of the long run: {size / 1e6:.1f} MB; {args.rounds} refreshes each, taking turns")
    for label, figures, note in (
        ("RunWatch.refresh", refresh, "target <= 2"),
        ("monitor redraw", view, "at most 1000 points a series: bounded, not a target"),
    ):
        print(
            f"{label}: {args.long} steps {figures['long'] * 1e3:.3f} ms, {args.short} steps "
            f"{figures['short'] * 1e3:.3f} ms, ratio {figures['long'] / figures['short']:.2f} ({note})"
        )


if __name__ == "__main__":
    main()
