"""The learning-rate probe: the suggestion rule on planted curves, and a real range test on a tiny model."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from openlora.tools import registry
from openlora.tools.context import ToolContext, ToolError
from openlora.tools.probe_learning_rate import suggest
from openlora.trainer.config import TrainConfig
from openlora.trainer.rundir import GoalDir


def _rates(n: int, low: float = 1e-4, high: float = 1.0) -> list[float]:
    return [low * (high / low) ** (i / (n - 1)) for i in range(n)]


def test_the_suggestion_is_where_the_loss_falls_fastest_before_it_turns_up():
    rates = _rates(12)
    losses = [5.0, 5.0, 4.98, 4.9, 4.6, 3.8, 3.0, 2.7, 2.6, 4.0, 9.0, math.nan]
    lr = suggest(list(zip(rates, losses, strict=True)))
    assert rates[4] <= lr <= rates[7]
    assert lr <= rates[8] / 3 * 1.0001  # never above a third of the rate at the lowest loss


def test_no_suggestion_when_the_loss_never_falls():
    assert suggest(list(zip(_rates(8), [5.0, 5.1, 5.2, 6.0, 8.0, 9.0, 9.5, 12.0], strict=True))) is None
    assert suggest([(1e-3, math.nan)]) is None


def test_a_curve_that_blows_up_at_once_is_cut_there():
    rates = _rates(6)
    lr = suggest(list(zip(rates, [5.0, 4.0, 50.0, 3.0, 2.0, 1.0], strict=True)))
    assert rates[0] <= lr <= rates[1]  # the later "falls" come after the blow-up and are ignored


def test_a_range_test_on_a_tiny_model_runs_in_its_own_folder(tiny_llama, kv_dataset, tmp_path):
    config = TrainConfig.model_validate(
        {"base_model": str(tiny_llama), "dataset": str(kv_dataset), "max_seq_len": 64, "num_threads": 1}
    ).model_dump()
    ctx = ToolContext(tmp_path, {"train": kv_dataset})
    found = registry.invoke(
        "probe_learning_rate", ctx, {"low": 1e-4, "high": 0.3, "steps": 8}, {"training_config": config}
    )
    rates = [lr for lr, _ in found["curve"]]
    assert 2 <= len(rates) <= 8 and rates == sorted(rates)
    assert rates[0] == pytest.approx(1e-4, rel=1e-6)
    if len(rates) == 8:
        assert rates[-1] == pytest.approx(0.3, rel=1e-6)
    assert found["status"] in ("completed", "diverged", "nan")
    assert found["suggested_lr"] is None or 1e-4 <= found["suggested_lr"] <= 0.3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr-probe"]
    assert not (GoalDir(tmp_path).lr_probe.root / "adapter").exists()  # a probe exports nothing
    again = registry.invoke(
        "probe_learning_rate", ctx, {"low": 1e-4, "high": 0.3, "steps": 8}, {"training_config": config}
    )
    assert again["curve"] == found["curve"]  # a resumed goal reads the probe it ran


def test_the_probe_refuses_an_empty_range(tmp_path):
    with pytest.raises(ToolError, match=r"low 0\.1 must be below high 0\.01"):
        registry.invoke(
            "probe_learning_rate",
            ToolContext(tmp_path),
            {"low": 0.1, "high": 0.01, "steps": 8},
            {"training_config": {"dataset": "x.jsonl"}},
        )


MASKED = {"packed_attention": "masked"}


def _long_rows(path, n: int = 40):
    """Rows of about a thousand tokens each. On the tiny llama (measured on the 2-core CPU machine) a
    micro-batch of 2 of them fits memory_limit_gb 0.01, one of 4 needs 0.03-0.04 (so neither 0.03 nor
    0.04 is a safe line), one of 8 more than 0.1: the tests draw their limits well inside those gaps.
    Measured with the masked attention (``MASKED``), whose L×L scores make the gaps wide; per-example
    attention needs less and narrows them (batch 4 then fits 0.02), so these probe tests pin it."""
    import json

    rows = [{"prompt": f"key {i} " * 60, "response": f"value {i} " * 60} for i in range(n)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_the_sizes_tried_stay_within_the_budget():
    from openlora.agent.batch_probe import candidate_sizes

    assert candidate_sizes(4, 6.0) == [2, 4, 8]
    assert candidate_sizes(4, 1.0) == [2, 4]  # twice the plan would cost two planned steps more
    assert candidate_sizes(1, 6.0) == [1, 2]


def test_the_memory_probe_finds_the_largest_batch_that_fits(tiny_llama, tmp_path):
    data = _long_rows(tmp_path / "long.jsonl")
    config = TrainConfig.model_validate(
        {
            "base_model": str(tiny_llama),
            "dataset": str(data),
            "max_seq_len": 1024,
            "num_threads": 1,
            "memory_limit_gb": 0.06,
        }
        | MASKED
    ).model_dump()
    ctx = ToolContext(tmp_path / "goal", {"train": data})
    found = registry.invoke("probe_batch_size", ctx, {"sizes": [8, 1, 16, 2, 4]}, {"training_config": config})
    assert found["status"] == "completed" and found["device"] == "cpu"
    tried = [(t["batch_size"], t["fits"]) for t in found["trials"]]
    assert tried == [(1, True), (2, True), (4, True), (8, False)]  # smallest first, stopped at the first miss
    peaks = [t["peak_gib"] for t in found["trials"]]
    assert peaks == sorted(peaks) and all(t["tokens"] > 900 for t in found["trials"])
    assert found["largest_fitting"] == 4
    assert sorted(p.name for p in (tmp_path / "goal").iterdir()) == ["memory-probe"]
    with pytest.raises(ToolError, match="sizes"):
        registry.invoke("probe_batch_size", ctx, {"sizes": [0]}, {"training_config": config})


def test_a_planned_batch_that_does_not_fit_is_split_before_attempt_1(home, tiny_llama, tmp_path):
    import json

    from openlora.agent.runner import run_goal
    from tests.agent.conftest import write_goal

    data = _long_rows(tmp_path / "long.jsonl")
    training = {"memory_limit_gb": 0.02, "max_seq_len": 1024, "max_steps": 4, "learning_rate": 0.01} | MASKED
    goal = write_goal(
        tmp_path / "goal",
        tiny_llama,
        data,
        training=training | {"num_threads": 1},
        success={"val_loss_below": 100.0},
        budget={"max_attempts": 2, "max_wall_minutes": 10},
    )
    import yaml

    unpinned = yaml.safe_load(goal.read_text())
    del unpinned["training"]["batch_size"]  # the shared test goal pins it; here the planner chooses
    goal.write_text(yaml.safe_dump(unpinned))
    lines: list[str] = []
    final = run_goal(goal, tmp_path / "runs", echo=lines.append, poll_s=0.1)
    (line,) = [text for text in lines if text.startswith("[probe] memory probe")]
    assert "batch_size 4 does not fit: batch_size 2 with grad_accum 2" in line
    assert final.outcome == "success" and len(final.attempts) == 1
    spec = json.loads((Path(final.attempts[0].run_dir) / "spec.json").read_text())
    assert (spec["batch_size"], spec["grad_accum"]) == (2, 2)
    report = (Path(final.run_root) / "report.md").read_text()
    assert "## Memory probe" in report and "| 4 | " in report and "out of memory" in report
