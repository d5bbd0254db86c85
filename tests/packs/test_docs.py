"""The docs pack: ``import --pack docs`` runs the dataset builder on a folder or one document."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from openlora.cli.main import app
from openlora.ui_core.pack_imports import import_with, importer_choices

DOME = (
    "# Dome\n\nThe dome shutter is the curved steel panel that opens a slit 2.4 metres wide.\n\n"
    "## Parts\n\nThe dome includes:\n\n- the dome shutter\n- the windscreen\n"
)
POWER = (
    "<html><nav>Home | Contact</nav><h1>Power</h1><p>The generator is a 250 kilowatt diesel generator "
    "in the power house.</p><p>When mains power fails, the dome shutter is closed on battery power.</p>"
    "<script>steal()</script></html>"
)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "dome.md").write_text(DOME, encoding="utf-8")
    (docs / "power.html").write_text(POWER, encoding="utf-8")
    (docs / "scan.pdf").write_bytes(b"%PDF-1.4 not really a PDF")
    return docs


def test_import_with_the_docs_pack_writes_grounded_pairs_with_provenance(tmp_path: Path) -> None:
    docs, out = _docs(tmp_path), tmp_path / "pairs.jsonl"
    result = CliRunner().invoke(app, ["import", str(docs), "--pack", "docs", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    assert {r["source_file"] for r in rows} == {"dome.md", "power.html"}
    assert {"definition", "part", "multi_hop"} <= {r["kind"] for r in rows}
    for row in rows:
        source = (docs / row["source_file"]).read_text(encoding="utf-8")
        assert row["heading"] and row["chunk_id"] and row["provenance"][0]["file"] == row["source_file"]
        assert "steal" not in row["response"] and "Contact" not in row["response"]
        if row["kind"] == "definition":  # the corpus's own sentence, word for word
            assert row["response"] in source
    shutter = next(r for r in rows if r["prompt"] == "What is the dome shutter?")
    assert (
        shutter["response"] == "The dome shutter is the curved steel panel that opens a slit 2.4 metres wide."
    )
    report = json.loads(out.with_suffix(".report.json").read_text(encoding="utf-8"))
    assert report["pack"] == "docs" and report["records"] == len(rows)
    assert [s["where"] for s in report["skipped"]] == ["scan.pdf"] and "scan.pdf" in result.output


def test_one_document_is_imported_from_the_data_screen(tmp_path: Path) -> None:
    page = _docs(tmp_path) / "dome.md"
    assert "docs/documents" in importer_choices(page).values
    done = import_with(page, "docs/documents")
    assert done.pairs == page.parent / "dome.docs-documents.jsonl" and done.records >= 2
    assert {r["source_file"] for r in _rows(done.pairs)} == {"dome.md"}
