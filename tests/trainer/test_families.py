"""Every architecture family end to end: train, resume, merged export and GGUF export, loaded back.

One test per family (:data:`FAMILIES`): a tiny model built from its config trains 3 steps with a
checkpoint, resumes for a 4th, exports ``merged`` (checked against base + adapter in transformers)
and the GGUF formats (loaded in llama-cpp-python and generating), or, for a family the GGUF writer
does not convert, has them refused up front with an error naming the family.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from llama_cpp import Llama
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from openlora.trainer import checkpoints
from openlora.trainer.export.exporter import ExportError, export_run
from openlora.trainer.export.gguf_check import quiet_stderr
from openlora.trainer.export.gguf_tensors import ARCH_BY_MODEL_TYPE
from openlora.trainer.main import run_training
from openlora.trainer.result import RunResult, RunStatus
from openlora.trainer.rundir import RunDir, loss_trace, read_events
from tests.conftest import make_run
from tests.fixtures.tiny_models import FAMILIES, build_tiny_model

PROMPT = "key red"
GGUF_REFUSED = {"falcon"}


def _train_then_resume(run: Path) -> None:
    """3 steps with a checkpoint at 3, then one more step resumed from that checkpoint."""
    first = run_training(run)
    assert first.status == RunStatus.COMPLETED and first.step == 3, first.message
    newest = checkpoints.newest_complete(RunDir(run).checkpoints)
    assert newest is not None and newest.step == 3
    spec = RunDir(run).spec
    spec.write_text(spec.read_text().replace('"max_steps": 3', '"max_steps": 4'))
    resumed = run_training(run)
    assert resumed.status == RunStatus.COMPLETED and resumed.step == 4, resumed.message
    assert [e["step"] for e in read_events(RunDir(run).metrics) if e["event"] == "resumed"] == [3]
    assert sorted(loss_trace(RunDir(run).metrics)) == [1, 2, 3, 4]
    assert RunResult.read(RunDir(run).result).step == 4


def _check_merged(base: Path, run: Path, ids: list[int]) -> np.ndarray:
    """The merged folder reproduces base + adapter (and the adapter changes the base); its logits."""
    model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True)
    adapted = PeftModel.from_pretrained(model, str(RunDir(run).adapter)).eval()
    merged = AutoModelForCausalLM.from_pretrained(RunDir(run).exports / "merged", local_files_only=True)
    assert not any("lora" in name for name, _ in merged.named_parameters())
    inputs = torch.tensor([ids])
    with torch.no_grad():
        expected = adapted(inputs).logits[0].numpy()
        with adapted.disable_adapter():
            plain = adapted(inputs).logits[0].numpy()
        got = merged.eval()(inputs).logits[0].numpy()
    assert np.abs(expected - plain).max() > 1e-4, "the trained adapter should change the logits"
    np.testing.assert_allclose(got, expected, atol=1e-4)
    return got


def _check_gguf(path: Path, ids: list[int], logits: np.ndarray) -> None:
    """llama-cpp-python loads the file and greedily generates two tokens, the first one transformers'."""
    with quiet_stderr():
        llm = Llama(model_path=str(path), vocab_only=False, n_ctx=64, verbose=False)
    try:
        tokens = list(itertools.islice(llm.generate(ids, top_k=1, temp=0.0), 2))
    finally:
        llm.close()
    assert len(tokens) == 2 and all(0 <= t < logits.shape[-1] for t in tokens)
    assert tokens[0] == int(logits[-1].argmax())


@pytest.mark.parametrize("family", FAMILIES)
def test_family_trains_resumes_and_exports(family: str, tmp_path: Path, kv_dataset: Path) -> None:
    base = build_tiny_model(tmp_path / "base", family)
    run = make_run(
        tmp_path / "run",
        base_model=str(base),
        dataset=str(kv_dataset),
        max_steps=3,
        save_every=3,
        eval_every=100,
        learning_rate=2e-2,
    )
    _train_then_resume(run)
    ids = AutoTokenizer.from_pretrained(base)(PROMPT, add_special_tokens=False)["input_ids"]

    export_run(run, ["merged"])
    logits = _check_merged(base, run, ids)

    exports = RunDir(run).exports
    if family in GGUF_REFUSED:
        assert family not in ARCH_BY_MODEL_TYPE
        for fmt in ("gguf", "gguf-adapter"):
            with pytest.raises(ExportError, match=f"the {family} family.*adapter, pt, merged"):
                export_run(run, [fmt])
            assert not (exports / fmt).exists()
        return
    entries = export_run(run, ["gguf", "gguf-adapter"])
    checks = entries["gguf"]["checks"]
    f16 = checks["model-f16.gguf"]
    assert f16["passed"] and f16["top1_match_rate"] == 1.0 and f16["tokenizer_match"]
    assert checks["model-q8_0.gguf"]["passed"]
    assert entries["gguf-adapter"]["check"]["passed"]
    _check_gguf(exports / "gguf" / "model-f16.gguf", ids, logits)


def test_sentencepiece_style_tokenizer_is_refused_for_gguf_and_byte_level_is_not(tmp_path: Path) -> None:
    """Hub Mistral v0.x, Gemma and Phi-3 tokenizers are BPE with byte fallback and '▁' spaces: the
    GGUF writer (llama.cpp's 'gpt2' tokenizer model) cannot express them and says so."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from openlora.trainer.export.gguf_metadata import tokenizer_refusal

    vocab = {"<unk>": 0, "▁": 1, "a": 2, "▁a": 3}
    spm = Tokenizer(models.BPE(vocab=vocab, merges=[("▁", "a")], unk_token="<unk>", byte_fallback=True))
    spm.pre_tokenizer = pre_tokenizers.Metaspace()
    refusal = tokenizer_refusal(PreTrainedTokenizerFast(tokenizer_object=spm, unk_token="<unk>"))
    assert refusal is not None and "SentencePiece-style BPE" in refusal and "merged" in refusal
    assert tokenizer_refusal(AutoTokenizer.from_pretrained(build_tiny_model(tmp_path / "m", "gpt2"))) is None
