"""``import-logs`` and ``synth``: make training pairs (JSONL) from log files or from a few examples.

``import-logs`` is kept as an alias of ``import --pack siem`` (``pack_commands``).

What it is for: reading the inputs, calling the importers and the generator, and writing the pairs
with a ``.report.json`` beside them.
What it is not for: parsing logs, generating or gating pairs (``openlora.synthesis``), or training on
them (``train_commands``). Heavy imports stay inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from openlora.cli.common import fail


def import_logs_command(
    log_file: Annotated[Path, typer.Argument(help="Log file: syslog lines, JSON events or CEF, mixed.")],
    out: Annotated[Path, typer.Option("--out", help="JSONL file of prompt/response pairs to write.")],
) -> None:
    """Turn a log file into instruction pairs (summarise, classify severity, extract indicators).

    The same as ``import --pack siem --importer logs``, with the report this command always printed.
    """
    from openlora.synthesis.packs.registry import PackError
    from openlora.synthesis.packs.running import run_import

    if not log_file.is_file():
        fail(f"{log_file}: no such file")
    try:
        result = run_import("siem", log_file, "logs")
    except PackError as exc:
        fail(str(exc), 1)
    report = result.report.details
    _write_pairs(out, result.records, report)
    shown = ", ".join(str(n) for n in report["malformed_lines"][:10])
    typer.echo(f"{report['events']} events ({report['by_format']}) → {report['pairs']} pairs in {out}")
    typer.echo(f"malformed lines: {report['malformed']}" + (f" (lines {shown})" if shown else ""))


def synth(
    seed_file: Annotated[
        Path, typer.Argument(help="Example prompt/response pairs (.jsonl or .csv), 3 or more.")
    ],
    out: Annotated[Path, typer.Option("--out", help="JSONL file to write the new pairs to.")],
    n: Annotated[int, typer.Option("--n", min=1, max=100_000, help="How many new pairs.")] = 200,
    eval_file: Annotated[Path | None, typer.Option("--eval", help="Eval set that must not leak in.")] = None,
    model: Annotated[
        str, typer.Option(help="Generator GGUF; default the embedded SmolLM2.")
    ] = "embedded:smollm2",
    seed: Annotated[int, typer.Option(min=0, help="Sampling seed.")] = 0,
) -> None:
    """Generate new training pairs from a few examples, through the quality gate (report beside --out)."""
    from openlora.advisor.client import Advisor
    from openlora.synthesis.generate import read_pairs, synthesize
    from openlora.trainer.data_files import DataError

    try:
        seeds = read_pairs(seed_file)
        eval_items = read_pairs(eval_file) if eval_file else []
    except DataError as exc:
        fail(str(exc))
    if len(seeds) < 3:
        fail(f"{seed_file}: needs at least 3 prompt/response pairs, found {len(seeds)}")
    result = synthesize(
        seeds, n, Advisor(model, temperature=0.8, max_tokens=200, seed=seed), eval_items, seed
    )
    _write_pairs(out, result.pairs, result.report)
    typer.echo(f"{len(result.pairs)} pairs written to {out}; dropped: {result.report['dropped']}")


def _write_pairs(out: Path, pairs: list[dict[str, str]], report: dict[str, Any]) -> None:
    """Write the pairs to OUT (JSONL) and REPORT to OUT with the suffix ``.report.json``, atomically."""
    from openlora.trainer.rundir import write_json_atomic, write_jsonl_atomic

    write_jsonl_atomic(out, pairs)
    write_json_atomic(out.with_suffix(".report.json"), report)
