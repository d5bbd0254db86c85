"""A GGUF that does not match the trained model is refused, and a failed export changes nothing."""

from __future__ import annotations

import json

import pytest

from openlora.trainer.export import exporter, gguf_tensors
from openlora.trainer.export.exporter import ExportError, export_run
from openlora.trainer.export.publish import publish
from openlora.trainer.rundir import RunDir, sha256_file


def _snapshot(folder):
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_corrupted_adapter_fails_with_the_figures_and_keeps_the_old_export(llama_run, monkeypatch):
    exports = RunDir(llama_run).exports
    export_run(llama_run, ["gguf-adapter"])
    before = _snapshot(exports / "gguf-adapter")
    manifest_before = (exports / "manifest.json").read_text()

    real = gguf_tensors.lora_factors

    def corrupted(*args, **kwargs):
        factors = real(*args, **kwargs)
        for factor in factors:
            factor.b = factor.b * -40.0  # a conversion bug: wrong sign and scale on every B
        return factors

    monkeypatch.setattr(exporter.gguf_tensors, "lora_factors", corrupted)
    with pytest.raises(ExportError) as info:
        export_run(llama_run, ["gguf-adapter"])
    message = str(info.value)
    assert "gguf-adapter" in message and "correlation min" in message and "needs ≥ 0.99" in message

    assert _snapshot(exports / "gguf-adapter") == before
    assert (exports / "manifest.json").read_text() == manifest_before
    assert not [p.name for p in exports.iterdir() if p.name.startswith((".staging-", ".old-"))]


def test_republishing_never_mixes_old_and_new_files(tmp_path):
    exports = tmp_path / "exports"

    def first(folder):
        (folder / "a.bin").write_bytes(b"old-a")
        (folder / "only-old.bin").write_bytes(b"old")
        return {}

    def second(folder):
        (folder / "a.bin").write_bytes(b"new-a")
        (folder / "only-new.bin").write_bytes(b"new")
        return {"version": 2}

    publish(exports, "fmt", first)
    publish(exports, "fmt", second)
    assert sorted(p.name for p in (exports / "fmt").iterdir()) == ["a.bin", "only-new.bin"]
    assert (exports / "fmt" / "a.bin").read_bytes() == b"new-a"
    manifest = json.loads((exports / "manifest.json").read_text())
    assert manifest["formats"]["fmt"]["version"] == 2 and set(manifest["formats"]["fmt"]["files"]) == {
        "a.bin",
        "only-new.bin",
    }


def test_crash_between_the_two_renames_is_repaired(tmp_path):
    exports = tmp_path / "exports"
    publish(exports, "fmt", lambda folder: (folder / "a.bin").write_bytes(b"old") and {})
    # Simulate a crash after the old folder was moved aside, before the new one was renamed in.
    (exports / "fmt").rename(exports / ".old-fmt-999")
    (exports / ".staging-fmt-999").mkdir()
    (exports / ".staging-fmt-999" / "half.bin").write_bytes(b"half")

    def failing(folder):
        raise RuntimeError("check failed")

    with pytest.raises(RuntimeError):
        publish(exports, "fmt", failing)
    assert sorted(p.name for p in exports.iterdir()) == ["fmt", "manifest.json"]
    assert (exports / "fmt" / "a.bin").read_bytes() == b"old"


def test_failed_output_export_ends_the_run_in_error_and_keeps_the_adapter(
    tiny_llama, kv_dataset, tmp_path, monkeypatch
):
    from openlora.trainer.main import run_training
    from openlora.trainer.result import RunStatus
    from tests.conftest import make_run

    real = gguf_tensors.lora_factors

    def corrupted(*args, **kwargs):
        factors = real(*args, **kwargs)
        for factor in factors:
            factor.b = factor.b * -40.0
        return factors

    monkeypatch.setattr(exporter.gguf_tensors, "lora_factors", corrupted)
    run = make_run(
        tmp_path / "run",
        base_model=str(tiny_llama),
        dataset=str(kv_dataset),
        max_steps=20,
        learning_rate=2e-2,
        outputs=["adapter", "pt", "gguf-adapter"],
    )
    result = run_training(run)
    assert result.status == RunStatus.ERROR
    assert result.evidence["kind"] == "export" and "gguf-adapter" in result.message
    exports = RunDir(run).exports
    assert (exports / "adapter" / "adapter_model.safetensors").is_file() and (exports / "pt").is_dir()
    assert not (exports / "gguf-adapter").exists()
