"""The tool registry: JSON schemas, bounds enforced before any code runs, real tools behind the names."""

from __future__ import annotations

import inspect
import json

import pytest

from openlora.observability.exporter import TOOLS as EXPORTER_TOOLS
from openlora.tools import registry
from openlora.tools.context import ToolContext, ToolError
from openlora.tools.inspect_dataset import inspect_dataset
from openlora.tools.registry import TOOLS, ToolCallError
from openlora.trainer.config import TrainConfig
from tests.conftest import write_jsonl


def _non_null(schema: dict) -> dict:
    return next((o for o in schema.get("anyOf", []) if o.get("type") != "null"), schema)


def test_registry_lists_every_tool_with_schemas_from_signatures_and_trainer_bounds(tmp_path):
    # The exporter's bounded tool vocabulary is exactly the registry: no real call ends up as 'other'.
    assert set(TOOLS) == set(EXPORTER_TOOLS)
    for name, tool in TOOLS.items():
        assert tool.description == inspect.getdoc(tool.func), name  # the docstring is the description
        shown = set(tool.tool_call_schema.model_json_schema().get("properties", {}))
        assert "ctx" not in shown and not shown & {"attempt", "from_attempt", "patch_id", "use_checkpoint"}
    relaunch = registry.chooser_schema("relaunch_from_checkpoint")["properties"]
    for setting in ("learning_rate", "max_grad_norm", "batch_size", "max_seq_len", "max_steps"):
        bound = _non_null(TrainConfig.model_json_schema()["properties"][setting])
        shown = _non_null(relaunch[setting])
        limits = {k: v for k, v in bound.items() if "imum" in k}
        assert limits and {k: shown[k] for k in limits} == limits, setting  # the trainer's own bounds
    ctx = ToolContext(tmp_path, {})
    with pytest.raises(ToolCallError, match="less than or equal to 100"):
        registry.invoke("patch_hyperparams", ctx, {"learning_rate": 1000}, {"attempt": 1, "patch_id": "x"})
    with pytest.raises(ToolCallError, match="dataset_id"):
        registry.invoke("inspect_dataset", ctx, {"dataset_id": "../../etc/passwd"})
    with pytest.raises(ToolCallError, match="formats"):
        registry.invoke("export_model", ctx, {"formats": ["onnx"]}, {"attempt": 1})
    with pytest.raises(ToolCallError, match="unknown tool"):
        registry.invoke("rm_rf", ctx, {})
    with pytest.raises(ToolCallError, match="unknown argument"):
        registry.invoke("stop_run", ctx, {"signal": 9}, {"attempt": 1})
    with pytest.raises(ToolError):
        registry.invoke("read_telemetry", ctx, {}, {"attempt": 7})  # not an attempt of this run
    assert not list(tmp_path.iterdir())  # nothing was written by a refused call


def test_inspect_dataset_gives_problems_and_suggestions(tmp_path):
    rows = [{"prompt": f"Rate event {i}", "response": "low"} for i in range(18)] + [
        {"prompt": "Rate event x", "response": "high"},
        {"prompt": "Rate event x", "response": "high"},
    ]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = inspect_dataset(ToolContext(tmp_path, {"train": data}), "train")
    assert report["rows"] == 20 and report["duplicates"] == 1
    assert any("class imbalance" in p for p in report["problems"])
    assert any("down-sample 'low'" in s for s in report["suggestions"])
    assert all(s.startswith('DATA "') for s in report["samples"])


def test_inspect_dataset_flags_responses_that_are_noise(tmp_path):
    import json
    import random

    from openlora.tools.context import ToolContext
    from openlora.tools.inspect_dataset import GARBLED, inspect_dataset

    rng = random.Random(0)
    noise = tmp_path / "noise.jsonl"
    noise.write_text(
        "".join(
            json.dumps(
                {
                    "prompt": f"the service {i}",
                    "response": "".join(rng.choice("abcxyz!?;{}") for _ in range(9)),
                }
            )
            + "\n"
            for i in range(30)
        )
    )
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "".join(
            json.dumps({"prompt": f"event {i}", "response": ["low", "high"][i % 2]}) + "\n" for i in range(30)
        )
    )
    found = inspect_dataset(ToolContext(tmp_path, {"train": noise}), "train")["problems"]
    assert any(p.startswith(GARBLED) for p in found)
    clean = inspect_dataset(ToolContext(tmp_path, {"train": labels}), "train")["problems"]
    assert not any(p.startswith(GARBLED) for p in clean)


def test_blocking_problems_are_those_no_setting_can_fix(tmp_path):
    from openlora.tools.inspect_dataset import inspect_dataset

    def report(name: str, text: str) -> dict:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return inspect_dataset(ToolContext(tmp_path, {"train": path}), "train")

    torn = report("torn.jsonl", '{"prompt": "a", "response": "b"}\n{"prompt": "c", "resp\n')
    assert torn["blocking"] and "torn.jsonl:2" in torn["blocking"][0]
    empty = report("empty.jsonl", '{"prompt": "a", "response": ""}\n')
    assert empty["blocking"] and "is empty" in empty["blocking"][0]
    # Columns under other names: a column mapping fixes that, so it does not block.
    renamed = report("renamed.jsonl", '{"q": "a", "a": "b"}\n')
    assert renamed["rows"] == 0 and renamed["problems"] and renamed["blocking"] == []
    fine = report("fine.jsonl", "".join(f'{{"prompt": "p{i}", "response": "yes"}}\n' for i in range(5)))
    assert fine["blocking"] == []


def test_a_validation_file_is_judged_against_the_training_file(tmp_path):
    train_rows = [{"prompt": f"key {i}", "response": f"value {i}"} for i in range(30)]
    train = write_jsonl(tmp_path / "train.jsonl", train_rows)
    shared = write_jsonl(
        tmp_path / "val.jsonl", [*train_rows[:8], {"prompt": "key x", "response": "value x"}]
    )
    text = tmp_path / "val.txt"
    text.write_text("a paragraph of plain text\n\nanother paragraph\n", encoding="utf-8")
    ctx = ToolContext(tmp_path, {"train": train, "eval": shared})
    report = inspect_dataset(ctx, "eval")
    assert report["train_overlap"] == 8
    # Mostly training rows: the validation loss would measure memorisation, so the gate blocks.
    assert report["blocking"] == ["8 of 9 validation rows (89%) also appear in the training file"]
    fresh = [{"prompt": f"key new {i}", "response": f"value {i}"} for i in range(9)]
    mostly_new = write_jsonl(tmp_path / "val2.jsonl", [train_rows[0], *fresh])
    light = inspect_dataset(ToolContext(tmp_path, {"train": train, "eval": mostly_new}), "eval")
    assert "1 of 10 validation rows (10%) also appear in the training file" in light["problems"]
    assert light["blocking"] == []  # a little overlap is named, not blocking
    other = inspect_dataset(ToolContext(tmp_path, {"train": train, "eval": text}), "eval")
    assert any(
        "validation rows are ['text'] while the training rows are ['pair']" in p for p in other["blocking"]
    )
    assert inspect_dataset(ToolContext(tmp_path, {"train": train}), "train")["train_overlap"] == 0
