"""Config validation: strict keys, YAML quirks, bounds, and errors that name field and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from openlora.trainer.config import ConfigError, TrainConfig, load_config


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data.jsonl").write_text('{"prompt": "a", "response": "b"}\n', encoding="utf-8")
    path = tmp_path / "train.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_exponent_floats_are_numbers_and_paths_resolve(tmp_path):
    config = load_config(_write(tmp_path, "dataset: data.jsonl\nlearning_rate: 1e-4\nweight_decay: 5E-2\n"))
    assert config.learning_rate == 1e-4 and isinstance(config.learning_rate, float)
    assert config.weight_decay == 0.05
    assert config.dataset == str((tmp_path / "data.jsonl").resolve())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dataset: data.jsonl\nlearning_rat: 1e-4\n", "unknown key 'learning_rat'"),
        (
            "dataset: data.jsonl\nlearning_rate: 1e-4\nlearning_rate: 2e-4\n",
            "train.yaml:3: duplicate key 'learning_rate'",
        ),
        ("dataset: data.jsonl\nlearning_rate: .nan\n", "learning_rate = NaN"),
        ("dataset: data.jsonl\nmax_grad_norm: .inf\n", "max_grad_norm = Infinity"),
        ("dataset: data.jsonl\nlearning_rate: -3\n", "learning_rate = -3: Input should be greater than 0"),
        ("dataset: data.jsonl\nlora_r: 0\n", "lora_r = 0"),
        ("dataset: data.jsonl\nbatch_size: many\n", 'batch_size = "many"'),
        ("dataset: data.jsonl\nlr_scheduler: wobbly\n", 'lr_scheduler = "wobbly"'),
        ("dataset: missing.jsonl\n", "dataset: file not found"),
        ("dataset: data.jsonl\ndevice: cpu\nload_in_4bit: true\n", "load_in_4bit needs CUDA"),
        ("dataset: data.jsonl\nbase_model: ./nowhere.gguf\n", "base_model: path not found"),
        ("learning_rate: 1e-4\n", "dataset = {…}: Field required"),
        ("- a\n- b\n", "expected a mapping"),
        ("dataset: [unclosed\n", "invalid YAML"),
    ],
)
def test_bad_configs_name_field_and_value(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert expected in str(info.value)
    assert (
        str(tmp_path / "train.yaml") in str(info.value)
        or "file not found" in str(info.value)
        or ("path not found" in str(info.value))
    )


def test_every_field_has_help_text():
    for name, field in TrainConfig.model_fields.items():
        assert field.description, name


def test_every_number_is_bounded():
    for name, field in TrainConfig.model_fields.items():
        annotation = str(field.annotation)
        if "int" in annotation or "float" in annotation:
            bounds = {type(m).__name__ for m in field.metadata}
            assert bounds & {"Ge", "Gt"} and bounds & {"Le", "Lt"}, name
