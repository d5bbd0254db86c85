"""report.md from a finished run: every attempt, including one whose validation loss was NaN."""

from __future__ import annotations

import json

from openlora.agent.report import write_report
from openlora.agent.state import GoalRun
from openlora.trainer.rundir import GoalDir


def test_report_lists_a_nan_metric_and_the_blocking_data_problems(tmp_path):
    folder = GoalDir(tmp_path)
    attempt = folder.attempt(1)
    attempt.root.mkdir()
    attempt.metrics.write_text(json.dumps({"event": "step", "step": 1, "loss": 9.0}) + "\n")
    config = {"learning_rate": 30.0, "batch_size": 4, "grad_accum": 1, "max_seq_len": 64}
    run = GoalRun.model_validate(
        {
            "run_root": str(tmp_path),
            "started_at": 0.0,
            "goal": {"name": "g", "task": "t", "dataset": "d.jsonl", "success": {"val_loss_below": 1.0}},
            "outcome": "failed",
            "dataset": {
                "dataset_id": "train",
                "rows": 40,
                "problems": ["2 duplicate rows", "garbled responses: 3%"],
                "blocking": [],
            },
            "attempts": [
                {
                    "number": 1,
                    "config": config | {"warmup_steps": 0, "max_steps": 40},
                    "status": "nan",
                    "message": "loss became NaN at step 21",
                    "final_metrics": {"train_loss": 5.99, "val_loss": "nan"},
                    "run_dir": str(attempt.root),
                    "started_at": 0.0,
                    "ended_at": 1.0,
                    "decision": {
                        "diagnosis": "nan",
                        "action": "lower_lr",
                        "call": {
                            "tool": "relaunch_from_checkpoint",
                            "args": {"fix": "lower_lr", "learning_rate": 0.001},
                        },
                        "reason": "the loss turned non-finite at lr 30",
                        "source": "rules",
                        "rejected": "not a JSON tool call",
                    },
                }
            ],
        }
    )
    paths = write_report(run)
    report = (tmp_path / paths["md"]).read_text()
    assert "metrics: train_loss 5.99, val_loss nan" in report
    assert "- 2 duplicate rows" in report and "**blocking**" not in report
    assert (
        "- decision (rules): **lower_lr** as `relaunch_from_checkpoint(fix=lower_lr, learning_rate=0.001)`"
        in report
    )
    assert "- why: nan: the loss turned non-finite at lr 30 (changes learning_rate 0.001)" in report
    assert "- the advisor's own call was refused: not a JSON tool call" in report
    saved = json.loads(folder.report_json.read_text())
    decision = saved["attempts"][0]["decision"]
    assert decision["call"] == {
        "tool": "relaunch_from_checkpoint",
        "args": {"fix": "lower_lr", "learning_rate": 0.001},
    }
    assert "changes" not in decision and saved["outcome"] == "failed"
