"""Detectors and decision validation without a model: bounds, caps and the rule-based fallback."""

from __future__ import annotations

import pytest

from openlora.agent.decision import check_changes, decision_schema, validate_choice
from openlora.agent.detectors import detect, live_findings
from openlora.trainer.config import TrainConfig

CONFIG = TrainConfig.model_validate(
    {"dataset": "x.jsonl", "learning_rate": 0.02, "batch_size": 8, "grad_accum": 2, "max_steps": 100}
).model_dump()
SUCCESS = {"val_loss_below": 1.0, "train_loss_below": None}


def _steps(losses):
    return [{"event": "step", "step": i + 1, "loss": v} for i, v in enumerate(losses)]


def test_nan_candidates_all_lower_the_lr_to_a_safe_value():
    finding = detect(
        {"status": "nan", "step": 12, "evidence": {"loss": "nan"}},
        _steps([2.0] * 12),
        CONFIG,
        SUCCESS,
        prior_lr=1e-3,
    )
    assert finding.diagnosis == "nan"
    assert all(c.changes["learning_rate"] <= 1e-3 for c in finding.candidates)
    assert set(decision_schema(finding)["properties"]["action"]["enum"]) == {
        c.action for c in finding.candidates
    }


def test_oom_keeps_the_effective_batch():
    finding = detect({"status": "oom", "step": 0}, [], CONFIG, SUCCESS, prior_lr=1e-3)
    (reduce,) = finding.candidates  # batch first while it is above 1
    assert reduce.changes["batch_size"] * reduce.changes["grad_accum"] == 16


def test_oom_with_sequences_far_longer_than_the_data_fits_them_first():
    long = CONFIG | {"max_seq_len": 4096}
    finding = detect({"status": "oom", "step": 0}, [], long, SUCCESS, 1e-3, longest_example_bytes=90)
    fit, reduce = finding.candidates
    assert fit.action == "shorten_sequences" and fit.changes == {"max_seq_len": 256}  # 90 + 128 → 256
    assert reduce.action == "reduce_batch" and finding.evidence["longest_example_bytes"] == 90
    check_changes(long, fit.changes, 1e-3)
    # Sequences already close to the data's length: the usual ladder (batch first).
    near = CONFIG | {"max_seq_len": 256}
    (only,) = detect(
        {"status": "oom", "step": 0}, [], near, SUCCESS, 1e-3, longest_example_bytes=90
    ).candidates
    assert only.action == "reduce_batch"


@pytest.mark.parametrize(
    ("losses", "vals", "diagnosis"),
    [
        ([3.0 - 0.01 * i for i in range(50)], [], "underfit"),
        ([2.0] * 50, [], "plateau"),
        (
            [3.0 - 0.05 * i for i in range(50)],
            [{"event": "eval", "val_loss": v} for v in (2.0, 1.8, 2.1, 2.4)],
            "overfit",
        ),
    ],
)
def test_completed_runs_that_miss_the_target(losses, vals, diagnosis):
    result = {"status": "completed", "final_metrics": {"train_loss": losses[-1], "val_loss": 5.0}}
    assert detect(result, _steps(losses) + vals, CONFIG, SUCCESS, prior_lr=1e-3).diagnosis == diagnosis


def test_live_spike_and_healthy():
    assert live_findings(_steps([2.0] * 10 + [9.0]), CONFIG, 1e-3)[0].diagnosis == "loss_spike"
    assert live_findings(_steps([2.0] * 11), CONFIG, 1e-3) == []
    healthy = detect({"status": "completed", "final_metrics": {"val_loss": 0.5}}, [], CONFIG, SUCCESS, 1e-3)
    assert healthy.diagnosis == "healthy"


def test_out_of_bounds_advisor_answers_fall_back_to_the_rules_and_say_why():
    finding = detect(
        {"status": "completed", "final_metrics": {"train_loss": 2.0, "val_loss": 2.0}},
        _steps([2.0] * 50),
        CONFIG,
        SUCCESS,
        prior_lr=1e-2,
    )
    for raw, why in [
        ('{"diagnosis": "plateau", "action": "raise_lr", "lr_factor": 50, "reason": "x"}', "lr_factor"),
        ('{"diagnosis": "plateau", "action": "export_to_etc", "lr_factor": 1, "reason": "x"}', "not one of"),
        (
            '{"diagnosis": "plateau", "action": "raise_lr", "lr_factor": 1, "reason": "x", "path": "/etc"}',
            "path",
        ),
        ("not json at all", "Expecting value"),
    ]:
        decision = validate_choice(raw, finding, CONFIG, 1e-2)
        assert decision.source == "rules" and why in decision.rejected, decision.rejected
        check_changes(CONFIG, decision.changes, 1e-3)
    good = validate_choice(
        '{"diagnosis": "plateau", "action": "raise_lr", "lr_factor": 1.5, "reason": "flat"}',
        finding,
        CONFIG,
        1e-2,
    )
    assert good.source == "advisor" and good.changes["learning_rate"] == pytest.approx(0.03)


def test_caps_refuse_large_lr_jumps():
    with pytest.raises(ValueError, match="outside"):
        check_changes(CONFIG, {"learning_rate": 1.0}, 1e-3)
    with pytest.raises(ValueError, match="invalid config"):
        check_changes(CONFIG, {"batch_size": 0}, 1e-3)
    check_changes(CONFIG, {"learning_rate": 1e-3}, 1e-3)  # down to the safe prior is always allowed


def test_data_and_config_errors_that_a_setting_can_fix_get_that_fix_first():
    mapped = {**CONFIG, "prompt_column": "question", "response_column": "answer"}
    columns = detect(
        {
            "status": "data_error",
            "message": "x.jsonl:1: missing column 'question' (keys present: ['prompt'])",
        },
        [],
        mapped,
        SUCCESS,
        1e-3,
    )
    assert [c.action for c in columns.candidates] == ["fix_columns"]
    assert columns.candidates[0].changes["prompt_column"] is None
    check_changes(mapped, columns.candidates[0].changes, 1e-3)
    targets = detect(
        {"status": "error", "message": "ModelLoadError: target_modules ['nope']: not found"},
        [],
        {**CONFIG, "target_modules": ["nope"]},
        SUCCESS,
        1e-3,
    )
    assert [c.changes for c in targets.candidates] == [{"target_modules": None}]
    empty = detect(
        {"status": "data_error", "message": "column 'response' is empty"}, [], CONFIG, SUCCESS, 1e-3
    )
    assert [c.action for c in empty.candidates] == ["stop"]


def test_a_flat_curve_far_from_the_prior_moves_the_lr_to_the_prior_and_garbled_data_stops():
    flat = {"status": "completed", "final_metrics": {"train_loss": 2.0, "val_loss": 2.0}}
    low = detect(flat, _steps([2.0] * 50), {**CONFIG, "learning_rate": 1e-7}, SUCCESS, 1e-2)
    assert low.candidates[0].action == "raise_lr" and low.candidates[0].changes == {"learning_rate": 1e-2}
    check_changes({**CONFIG, "learning_rate": 1e-7}, low.candidates[0].changes, 1e-2)  # the prior is allowed
    with pytest.raises(ValueError, match="outside"):
        check_changes({**CONFIG, "learning_rate": 1e-7}, {"learning_rate": 5e-2}, 1e-2)  # beyond it is not
    high = detect(flat, _steps([2.0] * 50), {**CONFIG, "learning_rate": 8.0}, SUCCESS, 1e-2)
    assert high.candidates[0].action == "lower_lr" and high.candidates[0].changes == {"learning_rate": 1e-2}
    garbled = detect(flat, _steps([2.0] * 50), CONFIG, SUCCESS, 1e-2, data_problems=["garbled responses: 3%"])
    assert [c.action for c in garbled.candidates] == ["stop"] and garbled.diagnosis == "plateau"
