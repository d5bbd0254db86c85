"""The evaluation engine on a tiny trained run: both columns, per-sample flags, CLI report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from openlora.evaluation.engine import FormatChecks, evaluate_run
from openlora.trainer.rundir import read_json
from tests.conftest import make_run, write_jsonl

CLI = str(Path(sys.executable).parent / "openlora-agent")


def test_eval_scores_adapter_and_base(tiny_llama, tmp_path, run_in_process):
    rows = [
        {"prompt": f"event from 10.0.0.{i}", "response": f"source 10.0.0.{i}. Severity: low."}
        for i in range(40)
    ]
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    run = make_run(
        tmp_path / "run", base_model=str(tiny_llama), dataset=str(data), max_steps=20, val_fraction=0.25
    )
    run_in_process(run)

    report = evaluate_run(
        run, against_base=True, limit=6, max_new_tokens=8, checks=FormatChecks(labels=["low"])
    )

    assert set(report["summary"]) == {"adapter", "base"} and report["samples"] == 6
    for column in report["summary"].values():
        assert (
            0 <= column["token_f1"] <= 1
            and 0 <= column["hallucination_rate"] <= 1
            and column["perplexity"] > 0
        )
        assert column["format_pass_rate"] <= 1
    sample = report["per_sample"][0]
    assert set(sample["adapter"]) >= {
        "output",
        "exact_match",
        "rouge_l",
        "unsupported",
        "similarity_to_prompt",
    }
    markdown = (run / "eval" / "report.md").read_text()
    assert "| metric | adapter | base |" in markdown
    assert read_json(run / "eval" / "report.json")["samples"] == 6

    proc = subprocess.run(
        [CLI, "eval", str(run), "--n", "3", "--max-new-tokens", "4", "--labels", "low,high"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "hallucination_rate" in proc.stdout
    assert json.loads((run / "eval" / "report.json").read_text())["samples"] == 3


def test_import_logs_cli(tmp_path):
    sample = Path(__file__).resolve().parents[2] / "examples" / "siem" / "sample.log"
    out = tmp_path / "pairs.jsonl"
    proc = subprocess.run(
        [CLI, "import-logs", str(sample), "--out", str(out)], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "malformed lines: 3 (lines 18, 46, 71)" in proc.stdout
    assert len(out.read_text().splitlines()) == 270
    assert read_json(out.with_suffix(".report.json"))["malformed"] == 3
