"""What a monitor shows of a :class:`RunWatch`: the curves to plot, the current figures, each attempt's fate.

What it is for: a front's monitor (the web page's Monitor tab) draws :func:`curves` (loss and
val-loss, lr, tokens/s, memory, each attempt its own series, thinned to at most ``max_points`` points
a series, non-finite values left out), writes :func:`figures_line` under them, and lists
:func:`attempt_rows` (steps, last loss, how the attempt ended, the supervisor's diagnosis and decision,
the person's answer) and :func:`outcome_line` once the report is written. Everything is plain data
and text built from the run folder; the text is untrusted and is shown as text.
What it is not for: reading files (``run_watch``) or drawing (the fronts).
"""

from __future__ import annotations

import json
import math
from typing import Any

from openlora.ui_core.run_watch import AttemptSeries, RunWatch

MAX_POINTS = 1000
PLOTS = ("loss", "lr", "tokens_per_s", "memory_mb")
Point = tuple[int, float, str]  # step, value, series


def thin(steps: list[int], values: list[float], max_points: int = MAX_POINTS) -> list[tuple[int, float]]:
    """At most ``max_points`` (step, value) pairs spread over the series, the last one kept."""
    stride = max(1, math.ceil(len(steps) / max_points))
    picked = list(range(0, len(steps), stride))
    if steps and picked[-1] != len(steps) - 1:
        picked.append(len(steps) - 1)
    return [(steps[i], values[i]) for i in picked if math.isfinite(values[i])]


def curves(watch: RunWatch, max_points: int = MAX_POINTS) -> dict[str, list[Point]]:
    """The points of each plot (:data:`PLOTS`), each attempt a series of its own."""
    plotted: dict[str, list[Point]] = {name: [] for name in PLOTS}
    for number, series in sorted(watch.attempts.items()):
        label = f"attempt {number}"
        for name in PLOTS:
            values = getattr(series, name)
            tag = f"{label} train" if name == "loss" else label
            plotted[name] += [(s, v, tag) for s, v in thin(series.steps, values, max_points)]
        plotted["loss"] += [
            (s, v, f"{label} val") for s, v in thin(series.val_steps, series.val_loss, max_points)
        ]
    return plotted


def _figure(event: dict[str, Any], key: str, text: str) -> str | None:
    value = event.get(key)
    return text.format(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def figures_line(series: AttemptSeries | None) -> str:
    """The newest step's figures in one line ("attempt 2 · step 120 · loss 5.31 · lr 0.01 · …")."""
    if series is None:
        return "waiting for the first step…"
    if series.download is not None and not series.steps:
        done, total = series.download.get("bytes_done"), series.download.get("bytes_total")
        return f"attempt {series.number}: downloading {series.download.get('file')} ({done} of {total} bytes)"
    last = series.last
    parts = [f"attempt {series.number}", f"step {last.get('step')}", f"{len(series.steps)} steps plotted"]
    parts += [
        p
        for p in (
            _figure(last, "loss", "loss {:.4g}"),
            _figure(last, "lr", "lr {:.3g}"),
            _figure(last, "tokens_per_s", "{:.0f} tok/s"),
            _figure(last, "gpu_mem_used_mb", "GPU memory {:.0f} MiB"),
            _figure(last, "gpu_util_pct", "GPU util {:.0f}%"),
            _figure(last, "rss_mb", "RAM {:.0f} MiB"),
        )
        if p
    ]
    if series.val_loss:
        parts.append(f"val loss {series.val_loss[-1]:.4g}")
    if series.ended:
        parts.append(f"ended: {series.ended}")
    return " · ".join(parts)


ATTEMPT_COLUMNS = ["attempt", "steps", "last loss", "ended", "diagnosis", "decision", "answer"]


def attempt_rows(watch: RunWatch) -> list[list[str]]:
    """One row per attempt: its figures, the supervisor's diagnosis and decision, and the person's answer."""
    found: dict[int, dict[str, str]] = {}
    for event in watch.events:
        attempt = event.get("attempt")
        if not isinstance(attempt, int) or attempt < 1:
            continue
        row = found.setdefault(attempt, {})
        kind = event.get("event")
        if kind == "diagnosis":
            row["diagnosis"] = str(event.get("diagnosis"))
        elif kind == "decision":
            call = f"{event.get('tool')} {json.dumps(event.get('arguments'))}"
            row["decision"] = f"{event.get('action')}: {call} [{event.get('source')}]"
        elif kind == "approval":
            row["answer"] = str(event.get("choice"))
    rows = []
    for number in sorted(set(found) | set(watch.attempts)):
        series = watch.attempts.get(number)
        row = found.get(number, {})
        finite = [v for v in (series.loss if series else []) if math.isfinite(v)]
        rows.append(
            [
                str(number),
                str(len(series.steps)) if series else "0",
                f"{finite[-1]:.4g}" if finite else "—",
                (series.ended if series else None) or "—",
                row.get("diagnosis", "—"),
                row.get("decision", "—"),
                row.get("answer", "—"),
            ]
        )
    return rows


def outcome_line(watch: RunWatch, state: str) -> str:
    """Where the run stands, and its outcome once the report is written."""
    report = watch.report() if state == "finished" else None
    if report is None:
        return {"running": "running", "stopped": "stopped (no live supervisor, no report)"}.get(state, state)
    attempts = len(report.get("attempts") or [])
    return f"finished: {report.get('outcome')} after {attempts} attempt(s) — report {watch.desk.report_md}"
