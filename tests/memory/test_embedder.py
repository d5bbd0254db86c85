"""The numpy MiniLM against the same weights run by transformers' BertModel (torch), mean-pooled and
normalised as sentence-transformers does: the same vectors, and a memory process that never imports torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from openlora.memory import embedder

TEXTS = [
    "loss became nan after the lr increase",
    "CUDA out of memory. Tried to allocate 2.00 GiB",
    "plateau: the loss is flat for 30 steps at lr 1e-05",
    "Überprüfung der Lernrate — 学习率 — ранняя остановка",
    "x",
    "word " * 400,  # past 256 tokens: cut there, as sentence-transformers does
]


def test_the_vectors_are_bert_mean_pooled_and_normalised():
    import torch
    from transformers import AutoModel, AutoTokenizer

    folder = Path(embedder.model_path())
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    batch = tokenizer(TEXTS, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    expected = torch.nn.functional.normalize(pooled, dim=1).numpy()

    got = embedder.embed(TEXTS, batch_size=4)  # two batches, sorted by length inside
    assert got.shape == (len(TEXTS), embedder.DIMENSION) and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    similar, unrelated = (
        got[0] @ embedder.embed(["the loss went to nan when lr was raised"])[0],
        got[0] @ got[1],
    )
    assert similar > unrelated  # meaning, not bytes


def test_reading_and_writing_the_memory_imports_no_torch(tmp_path):
    code = (
        "import sys\n"
        "from openlora.memory.incidents import IncidentMemory, NewIncident\n"
        "from openlora.memory.signature import Symptom\n"
        "memory = IncidentMemory()\n"
        "memory.add(NewIncident(Symptom('nan', 'llama', [1.0, None], note='loss became nan')))\n"
        "assert memory.search(Symptom('nan', 'llama', [2.0, None]), k=1)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sentence_transformers')))\n"
    )
    env = {"OPENLORA_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"
