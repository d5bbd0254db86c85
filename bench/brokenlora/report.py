"""Aggregating BrokenLoRA's rows: per-strategy measures with 95% intervals, the JSON and a Markdown table.

Definitions (one row = one strategy on one case and seed):
- rescue_rate: share of ``rescue`` cases whose goal target was reached within the budget.
- correct_stop_rate: share of ``stop`` cases (data that cannot be trained on, traps) that ended within 2
  attempts (0: refused before training) without reaching the target on the bad data or reaching for a
  higher lr — burning the budget or raising the lr counts as a failure.
- handled_rate: both together, over every faulty case; trap_compound_rate: the same over traps and
  compound faults only.
- median_attempts: attempts used on the rescued cases; failed_compute_seconds: training wall time of
  attempts that did not reach the target, summed per seed and averaged over seeds.
- relative_score: (L0 − final val loss) / (L0 − reference val loss) on rescued cases (1 = as good as
  the known-good reference).
- false_interventions: fixes applied to healthy controls (per control run: interventions_per_20_healthy).
- schema_valid_rate, out_of_bounds: over the advisor's decisions (null where no advisor is asked).
- repeat_attempt_reduction: 1 − attempts on a fault class met again / attempts the first time (memory
  strategies only; null for strategies that cannot remember).
Intervals are Wilson score intervals for rates.
"""

from __future__ import annotations

import math
import statistics
from typing import Any


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _rate(flags: list[bool]) -> dict[str, Any]:
    n = len(flags)
    low, high = wilson(sum(flags), n)
    return {"value": sum(flags) / n if n else None, "ci95": [low, high] if n else None, "n": n}


def handled(row: dict[str, Any]) -> bool:
    if row["expect"] == "rescue":
        return bool(row["reached_target"])
    if row["expect"] == "stop":
        return (
            not row.get("error")
            and not row["reached_target"]
            and row["attempts"] <= 2
            and not row.get("raised_lr", False)
        )
    return bool(row["reached_target"]) and row.get("interventions", 0) == 0


def summarize(rows: list[dict[str, Any]], strategies: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in strategies:
        first = [r for r in rows if r["strategy"] == name and r["pass"] == "first"]
        rescue = [r for r in first if r["expect"] == "rescue"]
        stop = [r for r in first if r["expect"] == "stop"]
        faults = rescue + stop
        hard = [r for r in faults if r["kind"] in ("trap", "compound")]
        controls = [r for r in first if r["expect"] == "leave"]
        rescued = [r for r in rescue if r["reached_target"]]
        seeds = sorted({r["seed"] for r in first}) or [0]
        decisions = [d for r in first for d in r.get("decisions", [])]
        asked = [d for d in decisions if name != "rules_only"]
        scores = [
            (r["first_loss"] - r["final_val"]) / (r["first_loss"] - r["reference_val"])
            for r in rescued
            if r["final_val"] is not None and r["first_loss"] > r["reference_val"]
        ]
        repeat = [r for r in rows if r["strategy"] == name and r["pass"] == "repeat"]
        reduction = None
        if repeat:
            met = [r for r in first if r["case"] in {x["case"] for x in repeat}]
            before = statistics.mean(r["attempts"] for r in met) if met else math.nan
            after = statistics.mean(r["attempts"] for r in repeat)
            reduction = 1 - after / before if before else None
        false = sum(r.get("interventions", 0) for r in controls)
        out[name] = {
            "rescue_rate": _rate([r["reached_target"] for r in rescue])["value"],
            "rescue_rate_ci95": _rate([r["reached_target"] for r in rescue])["ci95"],
            "correct_stop_rate": _rate([handled(r) for r in stop])["value"],
            "handled_rate": _rate([handled(r) for r in faults])["value"],
            "handled_rate_ci95": _rate([handled(r) for r in faults])["ci95"],
            "trap_compound_rate": _rate([handled(r) for r in hard])["value"],
            "median_attempts": statistics.median(r["attempts"] for r in rescued) if rescued else None,
            "failed_compute_seconds": round(sum(r["failed_seconds"] for r in first) / len(seeds), 1),
            "relative_score": round(statistics.mean(scores), 3) if scores else None,
            "false_interventions": false,
            "healthy_runs": len(controls),
            "interventions_per_20_healthy": round(20 * false / len(controls), 2) if controls else None,
            "schema_valid_rate": (sum(d["schema_valid"] for d in asked) / len(asked)) if asked else None,
            "advisor_decisions": len(asked),
            "out_of_bounds": sum(d["out_of_bounds"] for d in decisions)
            if decisions
            else (0 if name in ("openlora", "openlora_no_memory", "rules_only") else None),
            "repeat_attempt_reduction": reduction,
            # Reasons shown to a person that fail the explanation check (each with its case and problems).
            "unreadable_reasons": [
                f"{r['case']}@{r['seed']} ({r['pass']}): {'; '.join(d['reason_problems'])}"
                for r in first + repeat
                for d in r.get("decisions", [])
                if d.get("reason_problems")
            ]
            if decisions
            else None,
            "cases": {r["case"] + f"@{r['seed']}": handled(r) for r in first},
            "classes": {r["case"] + f"@{r['seed']}": _class_of(r) for r in first},
            "errors": [f"{r['case']}@{r['seed']}: {r['error']}" for r in first if r.get("error")],
        }
    return out


def _class_of(row: dict[str, Any]) -> str:
    """The class a row is reported under: its kind for traps, compound and ambiguous cases, else its fault."""
    return row["kind"] if row["kind"] in ("trap", "compound", "ambiguous") else row.get("fault", row["case"])


AS_CONFIGURED = (
    "rules_only",
    "naive_retry",
    "reset_default",
    "openlora_no_memory",
)  # no memory: attempt 1 is
# the case exactly as configured


def not_faults(rows: list[dict[str, Any]]) -> list[str]:
    """Planted ``rescue`` faults whose first attempt, exactly as configured, already met the target: not
    faults on this tier at these sizes (the bench's validity check; they should be recalibrated)."""
    met = {
        f"{r['case']}@{r['seed']}"
        for r in rows
        if r["pass"] == "first"
        and r["strategy"] in AS_CONFIGURED
        and r["expect"] == "rescue"
        and r.get("first_met")
    }
    return sorted(met)


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if pct:
        return f"{100 * value:.0f}%"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def markdown(summary: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        f"BrokenLoRA ({meta['tier']} tier, seeds {meta['seeds']}, {meta['cases']} cases, "
        f"budget {meta['max_attempts']} attempts) — {meta['date']}, {meta['machine']}, "
        f"{meta['minutes']:.1f} min",
        "",
        "| strategy | rescue rate | handled (all faults) | traps + compound | correct stops "
        "| median attempts | failed compute (s/seed) | score vs ref | healthy interventions /20 "
        "| schema-valid | out of bounds | repeat-fault attempts |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        reduction = s["repeat_attempt_reduction"]
        lines.append(
            f"| {name} | {_fmt(s['rescue_rate'], True)} | {_fmt(s['handled_rate'], True)} "
            f"| {_fmt(s['trap_compound_rate'], True)} | {_fmt(s['correct_stop_rate'], True)} "
            f"| {_fmt(s['median_attempts'])} | {_fmt(s['failed_compute_seconds'])} "
            f"| {_fmt(s['relative_score'])} "
            f"| {_fmt(s['interventions_per_20_healthy'])} | {_fmt(s['schema_valid_rate'], True)} "
            f"| {_fmt(s['out_of_bounds'])} | {'—' if reduction is None else f'{-100 * reduction:+.0f}%'} |"
        )
    return "\n".join(lines) + "\n"


def per_case_table(summary: dict[str, Any], by_class: bool = False) -> str:
    """Handled / runs per case (or per fault class, ``by_class``) and strategy."""
    names = list(summary)

    def label(name: str, key: str) -> str:
        return summary[name]["classes"][key] if by_class else key.split("@")[0]

    groups = sorted({label(n, key) for n in names for key in summary[n]["cases"]})
    title = "class" if by_class else "case"
    lines = [f"| {title} | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for group in groups:
        cells = []
        for name in names:
            marks = [ok for key, ok in summary[name]["cases"].items() if label(name, key) == group]
            cells.append(f"{sum(marks)}/{len(marks)}")
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
