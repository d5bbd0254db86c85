"""The ``docs`` pack: a folder of documents → grounded question/answer pairs, through the dataset builder.

What it is for: the entry point :func:`load_pack`, which imports the offline dataset builder
(``openlora.synthesis.builder.pipeline``) only when the pack is loaded, and a pack whose one importer
runs the builder on a documents folder (or one document) and turns its report into the interface's
:class:`~openlora.synthesis.packs.interface.ImportReport`. When the builder cannot be imported, loading
raises and the registry lists ``docs`` as broken with the reason; every other pack keeps working.
What it is not for: parsing, chunking, generating or filtering (the builder does all of that).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from openlora.synthesis.packs.interface import (
    INTERFACE_VERSION,
    GoalDefaults,
    Importer,
    ImportReport,
    Pack,
    Record,
)

BUILDER = "openlora.synthesis.builder.pipeline"
DOCUMENTS = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")


def import_documents(path: Path) -> tuple[list[Record], ImportReport]:
    """Grounded template pairs from a documents folder or one document (.md, .txt, .html, .pdf), each
    with its provenance; files that cannot be parsed are skipped with their reason."""
    pipeline = importlib.import_module(BUILDER)
    records, built = pipeline.documents_to_records(path)
    details = built.to_json()
    report = ImportReport(source=str(path), details=details)
    for item in details.get("skipped", []):
        report.skip(item["file"], item["reason"])
    for record in records:
        report.count(record["kind"])
    return records, report


def load_pack() -> Pack:
    """The pack, once the builder imports (an ImportError here marks the pack broken, by name)."""
    importlib.import_module(BUILDER)
    return Pack(
        name="docs",
        version="1.0.0",
        interface_version=INTERFACE_VERSION,
        description="A folder of documents (Markdown, text, HTML, PDF) → grounded Q/A pairs with provenance.",
        importers=(
            Importer(
                name="documents",
                help=(
                    "The offline dataset builder: parse, chunk, build a knowledge graph, generate grounded "
                    "single-fact, multi-hop and summary pairs, filter (grounding, near-duplicates)."
                ),
                accepts=("dir", *DOCUMENTS),
                run=import_documents,
            ),
        ),
        goal_defaults=GoalDefaults(
            task="Answer questions about these documents from what they say.",
            success={"val_loss_below": 1.5},
            evaluation={"max_hallucination_rate": 0.2},
        ),
    )
