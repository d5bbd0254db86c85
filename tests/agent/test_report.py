"""report.md from a finished state: every attempt, including one whose validation loss was NaN."""

from __future__ import annotations

import json

from openlora.agent.report import write_report


def test_report_lists_a_nan_metric_and_the_blocking_data_problems(tmp_path):
    attempt = tmp_path / "attempt-1"
    attempt.mkdir()
    (attempt / "metrics.jsonl").write_text(json.dumps({"event": "step", "step": 1, "loss": 9.0}) + "\n")
    config = {"learning_rate": 30.0, "batch_size": 4, "grad_accum": 1, "max_seq_len": 64}
    state = {
        "run_root": str(tmp_path),
        "goal": {"name": "g", "task": "t", "success": {"val_loss_below": 1.0}},
        "outcome": "failed",
        "dataset": {"problems": ["2 duplicate rows", "garbled responses: 3%"], "blocking": []},
        "attempts": [
            {
                "number": 1,
                "config": config | {"warmup_steps": 0, "max_steps": 40},
                "status": "nan",
                "message": "loss became NaN at step 21",
                "final_metrics": {"train_loss": 5.99, "val_loss": "nan"},
                "run_dir": str(attempt),
            }
        ],
    }
    report = (tmp_path / write_report(state)["md"]).read_text()
    assert "metrics: train_loss 5.99, val_loss nan" in report
    assert "- 2 duplicate rows" in report and "**blocking**" not in report
