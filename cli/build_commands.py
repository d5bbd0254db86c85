"""``build-dataset``: a folder of documents (Markdown, text, HTML, PDF) → grounded training pairs.

What it is for: reading the arguments, calling :func:`openlora.synthesis.builder.pipeline.build_dataset`
and printing its report (counts per stage and per drop reason; the full report lands beside --out).
What it is not for: parsing, generating or filtering (``openlora.synthesis.builder``). Heavy imports
stay inside the function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openlora.cli.common import fail


def build_dataset_command(
    docs_dir: Annotated[Path, typer.Argument(help="Folder of .md, .txt, .html and .pdf documents.")],
    out: Annotated[Path, typer.Option("--out", help="JSONL file of prompt/response pairs to write.")],
    eval_file: Annotated[
        Path | None,
        typer.Option(
            "--eval", help="Eval pairs: read when the file exists, else written from held-out sections."
        ),
    ] = None,
    n: Annotated[
        int, typer.Option("--n", min=1, max=100_000, help="At most this many training pairs.")
    ] = 500,
    model: Annotated[
        str | None,
        typer.Option(help="GGUF that proposes relations, rephrases and summarises; default SmolLM2."),
    ] = None,
    model_calls: Annotated[
        int,
        typer.Option("--model-calls", min=0, max=100_000, help="Generations the model may make (0: none)."),
    ] = 12,
) -> None:
    """Build grounded question/answer pairs from documents, with provenance (report beside --out)."""
    from openlora.synthesis.builder.pipeline import build_dataset

    if not docs_dir.is_dir():
        fail(f"{docs_dir}: no such folder")
    report = build_dataset(docs_dir, out, eval_file, n, model, model_calls=model_calls)
    typer.echo(
        f"{report.parsed}/{report.files} files ({report.pages} pages) → {report.chunks} chunks, "
        f"{report.entities} entities, {sum(report.facts.values())} facts, {report.links} links"
    )
    for skipped in report.skipped:
        typer.echo(f"skipped {skipped['file']}: {skipped['reason']}")
    for name, encoding in report.encodings.items():
        typer.echo(f"decoded {name} as {encoding}")
    typer.echo(f"candidates: {report.candidates}")
    if report.model:
        typer.echo(
            f"model: {report.model['relations_taken']}/{report.model['relations_proposed']} relations "
            f"taken, {report.model['rephrase_taken']}/{report.model['rephrase_tried']} rephrasings taken, "
            f"{report.model['summaries_written']} summaries written"
        )
    typer.echo(f"dropped: {report.dropped or 'none'}")
    typer.echo(f"{report.written} pairs written to {out} (kept {report.kept})")
    if report.eval.get("mode") in {"held_out", "read"}:
        typer.echo(f"eval: {report.eval}")
    typer.echo(f"report: {report.outputs['report']}; graph: {report.outputs['graph']}")
    if report.written == 0:
        raise typer.Exit(1)
