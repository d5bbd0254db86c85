"""``openlora-agent build-dataset`` end to end on a tiny corpus, with the embedded SmolLM2 writing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openlora.cli.main import app

DOCS = {
    "dome.md": "# Dome\n\nThe dome shutter is the curved steel panel that opens a slit 2.4 metres wide. "
    "It takes 90 seconds to open.\n\n## Parts\n\nThe dome includes:\n\n"
    "- the dome shutter\n- the windscreen\n",
    "power.html": "<html><nav>Home</nav><h1>Power</h1><p>The generator is a 250 kilowatt diesel generator "
    "in the power house. When mains power fails, the dome shutter is closed on battery power.</p>"
    "<script>alert(1)</script></html>",
}


@pytest.mark.slow
def test_build_dataset_command_with_the_embedded_model(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    out = tmp_path / "pairs.jsonl"
    result = CliRunner().invoke(app, ["build-dataset", str(docs), "--out", str(out), "--model-calls", "3"])
    assert result.exit_code == 0, result.output
    assert "pairs written to" in result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows and all(r["chunk_id"] and r["source_file"] and r["heading"] for r in rows)
    report = json.loads(out.with_suffix(".report.json").read_text(encoding="utf-8"))
    model = report["model"]
    assert (
        model["calls_budget"] == 3 and model["rephrase_tried"] == 1
    )  # a third each: relation, rephrase, summary
    assert (
        model["relations_proposed"] + model["invalid"] >= 1
        and model["relations_taken"] <= model["relations_proposed"]
    )
    graph = json.loads(out.with_suffix(".graph.json").read_text(encoding="utf-8"))
    texts = {c["id"]: " ".join(c["text"].split()) for c in graph["chunks"]}
    for fact in (f for f in graph["facts"] if f["origin"] == "model"):  # only what a sentence states
        assert " ".join(fact["evidence"].split()) in texts[fact["chunk_id"]]
        assert fact["subject"].lower() in fact["evidence"].lower()
    assert report["parsed"] == 2 and not any("alert" in r["response"] for r in rows)
