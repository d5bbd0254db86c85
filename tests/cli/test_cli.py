"""The openlora-agent command line: fast help, lazy imports, train and resume end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from openlora.trainer.rundir import RunDir

CLI = str(Path(sys.executable).parent / "openlora-agent")


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


def test_export_then_chat_model_with_piped_input(tiny_llama, kv_dataset, tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text(
        f"name: tiny\nbase_model: {tiny_llama}\ndataset: {kv_dataset}\nmax_steps: 4\nmax_seq_len: 64\n",
        encoding="utf-8",
    )
    run_dir = tmp_path / "run"
    assert (
        subprocess.run([CLI, "train", str(config), "--run-dir", str(run_dir)], capture_output=True).returncode
        == 0
    )

    no_gguf = subprocess.run([CLI, "chat-model", str(run_dir)], input="hi\n", capture_output=True, text=True)
    assert no_gguf.returncode == 1 and "no GGUF export yet" in no_gguf.stderr

    exported = subprocess.run(
        [CLI, "export", str(run_dir), "-f", "gguf", "--gguf-type", "f16"], capture_output=True, text=True
    )
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert "gguf:" in exported.stdout and "min_correlation=" in exported.stdout

    chat = subprocess.run(
        [CLI, "chat-model", str(run_dir), "--max-tokens", "5", "--temperature", "0"],
        input="key red\nkey blue\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert chat.returncode == 0, chat.stderr[-2000:]
    assert chat.stdout.count("\n") >= 2 and chat.stdout.strip()  # one streamed answer per line of input

    bad = subprocess.run([CLI, "export", str(run_dir), "-f", "onnx"], capture_output=True, text=True)
    assert bad.returncode == 1 and "unknown export format" in bad.stderr
