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
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

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


def _as_dict(value: Any) -> dict[str, Any]:
    if hasattr(value, "to_json"):
        return dict(value.to_json())
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return dict(value) if isinstance(value, Mapping) else {}


def _unpack(result: Any) -> tuple[list[Record], dict[str, Any]]:
    """(records, report) from what the builder returns: a pair, or an object with pairs/records and report."""
    if isinstance(result, tuple) and len(result) == 2:
        records, report = result
    else:
        records = getattr(result, "pairs", None) or getattr(result, "records", None) or []
        report = getattr(result, "report", {})
    return list(records), _as_dict(report)


def _skips(details: dict[str, Any], report: ImportReport) -> None:
    """Files the builder could not parse, under whichever key it lists them."""
    for key in ("skipped", "unparsed", "failed", "errors"):
        for item in details.get(key) or []:
            if isinstance(item, Mapping):
                report.skip(str(item.get("file") or item.get("path") or "?"), str(item.get("reason", key)))
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                report.skip(str(item[0]), str(item[1]))
            else:
                report.skip(str(item), key)


def import_documents(path: Path) -> tuple[list[Record], ImportReport]:
    """Grounded pairs from a documents folder (.md, .txt, .html, .pdf) with their provenance."""
    pipeline = importlib.import_module(BUILDER)
    build = getattr(pipeline, "documents_to_records", None) or pipeline.build_dataset
    records, details = _unpack(build(path))
    report = ImportReport(source=str(path), details=details)
    _skips(details, report)
    for record in records:
        report.count(str(record.get("kind", "pairs")) if isinstance(record, Mapping) else "pairs")
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
