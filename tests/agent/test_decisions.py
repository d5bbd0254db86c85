"""Detectors and decision validation without a model: allowed calls, bounds, caps and the rules' fallback."""

from __future__ import annotations

import json

import pytest

from openlora.agent.decision import allowed_calls, check_changes, validate_choice
from openlora.agent.detectors import detect, live_findings
from openlora.agent.goal import Success
from openlora.trainer.config import TrainConfig
from openlora.trainer.result import RunResult, RunStatus

CONFIG = TrainConfig.model_validate(
    {"dataset": "x.jsonl", "learning_rate": 0.02, "batch_size": 8, "grad_accum": 2, "max_steps": 100}
).model_dump()
SUCCESS = Success(val_loss_below=1.0)


def _steps(losses):
    return [{"event": "step", "step": i + 1, "loss": v} for i, v in enumerate(losses)]


def _result(status: str, message: str = "", step: int = 0, **metrics: float) -> RunResult:
    return RunResult(RunStatus(status), message, step, final_metrics=metrics)


def _call(tool: str, **args) -> str:
    return json.dumps({"name": tool, "arguments": args})


def _plateau(lr: float = 0.02, prior: float = 1e-2):
    result = _result("completed", train_loss=2.0, val_loss=2.0)
    return detect(result, _steps([2.0] * 50), CONFIG | {"learning_rate": lr}, SUCCESS, prior_lr=prior)


def test_nan_candidates_all_lower_the_lr_to_a_safe_value():
    finding = detect(_result("nan", step=12), _steps([2.0] * 12), CONFIG, SUCCESS, prior_lr=1e-3)
    assert finding.diagnosis == "nan"
    assert all(c.changes["learning_rate"] <= 1e-3 for c in finding.candidates)
    assert {c.tool for c in finding.candidates} == {"relaunch_from_checkpoint"}
    specs = allowed_calls(finding)
    assert [s["function"]["name"] for s in specs] == ["relaunch_from_checkpoint"] * len(finding.candidates)
    fixes = [s["function"]["parameters"]["properties"]["fix"]["enum"] for s in specs]
    assert fixes == [[c.action.value] for c in finding.candidates]
    assert all(s["function"]["parameters"]["additionalProperties"] is False for s in specs)


def test_oom_keeps_the_effective_batch():
    finding = detect(_result("oom"), [], CONFIG, SUCCESS, prior_lr=1e-3)
    (reduce,) = finding.candidates  # batch first while it is above 1
    assert reduce.changes["batch_size"] * reduce.changes["grad_accum"] == 16


def test_oom_with_sequences_far_longer_than_the_data_fits_them_first():
    long = CONFIG | {"max_seq_len": 4096}
    finding = detect(_result("oom"), [], long, SUCCESS, 1e-3, longest_example_bytes=90)
    fit, reduce = finding.candidates
    assert fit.action == "shorten_sequences" and fit.changes == {"max_seq_len": 256}  # 90 + 128 → 256
    assert reduce.action == "reduce_batch" and finding.evidence["longest_example_bytes"] == 90
    check_changes(long, fit.changes, 1e-3)
    near = CONFIG | {"max_seq_len": 256}  # already close to the data's length: batch first
    (only,) = detect(_result("oom"), [], near, SUCCESS, 1e-3, longest_example_bytes=90).candidates
    assert only.action == "reduce_batch"


def test_oom_fits_sequences_to_the_longest_example_the_trainer_counted():
    near = CONFIG | {"max_seq_len": 256}
    counted = [{"event": "run_start", "dataset": {"max_example_tokens": 37, "dropped_too_long": 0}}]
    fit, _reduce = detect(_result("oom"), counted, near, SUCCESS, 1e-3, longest_example_bytes=90).candidates
    assert fit.changes == {"max_seq_len": 64} and "37 tokens" in fit.why  # the count, not 90 bytes + 128
    assert detect(_result("oom"), counted, near, SUCCESS, 1e-3).evidence["longest_example_tokens"] == 37
    dropped = [{"event": "run_start", "dataset": {"max_example_tokens": 37, "dropped_too_long": 3}}]
    (only,) = detect(_result("oom"), dropped, near, SUCCESS, 1e-3, longest_example_bytes=90).candidates
    assert only.action == "reduce_batch"  # some examples were longer than 256: the count is not the longest


@pytest.mark.parametrize(
    ("losses", "vals", "diagnosis"),
    [
        ([3.0 - 0.01 * i for i in range(50)], [], "underfit"),
        ([2.0] * 50, [], "plateau"),
        (
            [3.0 - 0.05 * i for i in range(50)],
            # as the trainer before 2026-12 wrote them: the last step evaluated again when it finished
            [
                {"event": "eval", "step": s, "val_loss": v}
                for s, v in ((13, 2.0), (26, 1.8), (39, 2.1), (50, 2.4))
            ]
            + [{"event": "eval", "step": 50, "val_loss": 2.4}],
            "overfit",
        ),
    ],
)
def test_completed_runs_that_miss_the_target(losses, vals, diagnosis):
    result = _result("completed", train_loss=losses[-1], val_loss=5.0)
    finding = detect(result, _steps(losses) + vals, CONFIG, SUCCESS, prior_lr=1e-3)
    assert finding.diagnosis == diagnosis
    if diagnosis == "overfit":  # stop at the step of the best evaluation
        assert finding.candidates[0].call.args["max_steps"] == 26


def test_a_stall_is_judged_on_distinct_steps_not_on_a_repeated_last_evaluation():
    """Validation still falling over its last evaluations is no stall, even when the last step's
    evaluation was written twice (as a trainer before 2026-12 did on finishing)."""
    losses = [3.0 - 0.05 * i for i in range(50)]
    falling = (2.0, 1.8, 1.6, 1.45, 1.3, 1.295)  # 10.7 % over the last three distinct evaluations
    vals = [{"event": "eval", "step": 8 * (i + 1), "val_loss": v} for i, v in enumerate(falling)]
    result = _result("completed", train_loss=losses[-1], val_loss=1.295)
    repeated = [*vals, vals[-1]]
    assert detect(result, _steps(losses) + repeated, CONFIG, SUCCESS, prior_lr=1e-3).diagnosis != "overfit"


def test_live_spike_is_a_bounded_patch_and_healthy_runs_are_left_alone():
    (spike,) = live_findings(_steps([2.0] * 10 + [9.0]), CONFIG)
    assert spike.diagnosis == "loss_spike" and {c.tool for c in spike.candidates} == {"patch_hyperparams"}
    assert spike.candidates[0].ranges["learning_rate"] == pytest.approx((0.002, 0.01))
    assert live_findings(_steps([2.0] * 11), CONFIG) == []
    assert detect(_result("completed", val_loss=0.5), [], CONFIG, SUCCESS, 1e-3).diagnosis == "healthy"
    assert detect(_result("completed", val_loss="nan"), [], CONFIG, SUCCESS, 1e-3).diagnosis != "healthy"


def test_a_tiny_loss_that_multiplies_near_zero_is_not_a_spike():
    memorised = [3.0, 1.0, 0.2] + [0.007] * 10 + [0.1]  # 14× the median, 3 % of the drop given back
    assert live_findings(_steps(memorised), CONFIG) == []
    (spike,) = live_findings(_steps([3.0, 1.0, 0.2] + [0.2] * 10 + [1.5]), CONFIG)  # 46 % given back
    assert spike.diagnosis == "loss_spike"


def test_a_second_spike_starts_from_the_settings_patched_so_far_and_repeats_no_clip():
    first = _steps([2.0] * 10 + [9.0])
    patched = {"event": "patch_applied", "step": 11, "patch_id": "a1-p1", "changes": {"learning_rate": 0.01}}
    clipped = {"event": "patch_applied", "step": 12, "patch_id": "a1-p2", "changes": {"max_grad_norm": 0.5}}
    later = [{"event": "step", "step": 12 + i, "loss": v} for i, v in enumerate([2.0] * 10 + [9.0])]
    (spike,) = live_findings([*first, patched, *later], CONFIG)
    assert {c.action for c in spike.candidates} == {"lower_lr", "clip_gradients"}
    assert spike.candidates[0].call.args["learning_rate"] == pytest.approx(0.005)  # half of the patched 0.01
    (again,) = live_findings([*first, patched, clipped, *later], CONFIG)
    assert [c.action for c in again.candidates] == ["lower_lr"]  # already clipped at 0.5: no repeat


def test_an_allowed_call_within_its_range_is_executed_as_chosen():
    finding = _plateau()
    decision = validate_choice(
        _call("relaunch_from_checkpoint", fix="raise_lr", learning_rate=0.03), finding, CONFIG, 1e-2
    )
    assert decision.source == "advisor" and decision.rejected is None
    assert decision.call.tool == "relaunch_from_checkpoint" and decision.changes == {"learning_rate": 0.03}
    assert decision.reason == finding.candidates[0].why  # the rule's words, never the model's


@pytest.mark.parametrize(
    ("call", "why", "shaped"),
    [
        # numeric bounds the grammar does not enforce: the candidate's range, then the tool's own schema
        (_call("relaunch_from_checkpoint", fix="raise_lr", learning_rate=0.5), "outside the allowed", True),
        (
            _call("relaunch_from_checkpoint", fix="raise_lr", learning_rate=1e9),
            "less than or equal to 100",
            True,
        ),
        (_call("relaunch_from_checkpoint", fix="raise_lr", learning_rate=-1), "greater than 0", True),
        # an unknown tool, an argument the tool does not have, a fix that is not a candidate
        (_call("export_to_etc", path="/etc/passwd"), "unknown tool 'export_to_etc'", False),
        (_call("relaunch_from_checkpoint", fix="raise_lr", learning_rate=0.03, path="/etc"), "path", False),
        (
            _call("relaunch_from_checkpoint", fix="lower_lr", learning_rate=0.01),
            "not one of the allowed",
            False,
        ),
        (_call("relaunch_from_checkpoint", fix="delete_everything"), "fix: Input should be", False),
        (_call("stop_run"), "not one of the allowed", False),  # a fixable run may not be abandoned
        ("not json at all", "not a JSON tool call", False),
        ('{"name": "relaunch_from_checkpoint", "arguments": "lr=100"}', "must be an object", False),
    ],
)
def test_refused_calls_fall_back_to_the_rules_and_say_why(call, why, shaped):
    finding = _plateau()
    decision = validate_choice(call, finding, CONFIG, 1e-2)
    assert decision.source == "rules" and why in decision.rejected, decision.rejected
    assert decision.schema_valid is shaped
    assert decision.call == finding.candidates[0].call  # the rules' best, unchanged
    check_changes(CONFIG, decision.changes, 1e-2)


def test_caps_refuse_large_lr_jumps():
    with pytest.raises(ValueError, match="outside"):
        check_changes(CONFIG, {"learning_rate": 1.0}, 1e-3)
    with pytest.raises(ValueError, match="invalid config"):
        check_changes(CONFIG, {"batch_size": 0}, 1e-3)
    check_changes(CONFIG, {"learning_rate": 1e-3}, 1e-3)  # down to the safe prior is always allowed


def test_data_and_config_errors_that_a_setting_can_fix_get_that_fix_first():
    mapped = {**CONFIG, "prompt_column": "question", "response_column": "answer"}
    message = "x.jsonl:1: missing column 'question' (keys present: ['prompt'])"
    (fix,) = detect(_result("data_error", message), [], mapped, SUCCESS, 1e-3).candidates
    assert fix.action == "fix_columns" and fix.call.args == {
        "fix": "fix_columns",
        "clear_column_mapping": True,
    }
    assert fix.changes["prompt_column"] is None
    check_changes(mapped, fix.changes, 1e-3)
    error = "ModelLoadError: target_modules ['nope']: not found"
    targets = detect(_result("error", error), [], {**CONFIG, "target_modules": ["nope"]}, SUCCESS, 1e-3)
    assert [c.changes for c in targets.candidates] == [{"target_modules": None}]
    empty = detect(_result("data_error", "column 'response' is empty"), [], CONFIG, SUCCESS, 1e-3)
    assert [c.action for c in empty.candidates] == ["stop"] and empty.candidates[0].tool == "stop_run"


def test_a_flat_curve_far_from_the_prior_moves_the_lr_to_the_prior_and_garbled_data_stops():
    low = _plateau(lr=1e-7)
    assert low.candidates[0].action == "raise_lr" and low.candidates[0].changes == {"learning_rate": 1e-2}
    check_changes({**CONFIG, "learning_rate": 1e-7}, low.candidates[0].changes, 1e-2)  # the prior is allowed
    with pytest.raises(ValueError, match="outside"):
        check_changes({**CONFIG, "learning_rate": 1e-7}, {"learning_rate": 5e-2}, 1e-2)  # beyond it is not
    high = _plateau(lr=8.0)
    assert high.candidates[0].action == "lower_lr" and high.candidates[0].changes == {"learning_rate": 1e-2}
    flat = _result("completed", train_loss=2.0, val_loss=2.0)
    garbled = detect(flat, _steps([2.0] * 50), CONFIG, SUCCESS, 1e-2, data_problems=["garbled responses: 3%"])
    assert [c.action for c in garbled.candidates] == ["stop"] and garbled.diagnosis == "plateau"


def test_records_round_trip_through_json():
    from openlora.agent.records import Decision, Finding

    finding = _plateau()
    assert Finding.model_validate(json.loads(finding.model_dump_json())) == finding
    decision = validate_choice("", finding, CONFIG, 1e-2)
    assert Decision.model_validate(json.loads(decision.model_dump_json())) == decision
