"""The tool registry: JSON schemas, bounds enforced before any code runs, real tools behind the names."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from openlora.observability.exporter import TOOLS
from openlora.tools.context import ToolContext, ToolError
from openlora.tools.inspect_dataset import inspect_dataset
from openlora.tools.registry import build_tools


def test_registry_lists_every_tool_with_bounded_schemas(tmp_path):
    tools = build_tools(ToolContext(tmp_path, {}), memory=None)
    # The exporter's bounded tool vocabulary is exactly the registry: no real call ends up as 'other'.
    assert set(tools) == set(TOOLS)
    schema = tools["patch_hyperparams"].args_schema.model_json_schema()
    assert schema["additionalProperties"] is False
    with pytest.raises(ValidationError):
        tools["patch_hyperparams"].invoke({"attempt": 1, "patch_id": "x", "learning_rate": 100})
    with pytest.raises(ValidationError):
        tools["inspect_dataset"].invoke({"dataset_id": "../../etc/passwd"})
    with pytest.raises(ValidationError):
        tools["export_model"].invoke({"attempt": 1, "formats": ["onnx"]})
    with pytest.raises(ToolError):
        tools["read_telemetry"].invoke({"attempt": 7})  # not an attempt of this run


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
