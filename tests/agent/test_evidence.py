"""Derived evidence without a model: every config key judged or listed, fixes that land in range,
pinned settings kept, and diagnosis by cause (the setting that explains a symptom, not its generic fix)."""

from __future__ import annotations

import random

import pytest

from openlora.agent.act import unhelpful_fixes, without_repeats
from openlora.agent.causes import explain
from openlora.agent.detectors import detect
from openlora.agent.evidence import DataFacts, Facts, Verdict
from openlora.agent.goal import Success
from openlora.agent.live_evidence import live_checks
from openlora.agent.preflight import QUANTITIES, UNJUDGED, correct, run_checks
from openlora.agent.records import Action, AttemptRecord, Decision, DecisionSource, Diagnosis, ToolCall
from openlora.trainer.config import TrainConfig
from openlora.trainer.result import RunResult, RunStatus

DATA = DataFacts(
    rows=200, mean_bytes=300.0, length_deciles=(120, 150, 180, 200, 250, 300, 320, 350, 400, 500, 900)
)
SUCCESS = Success(val_loss_below=1.0)


def _facts(data: DataFacts = DATA, **settings) -> Facts:
    config = TrainConfig.model_validate({"dataset": "x.jsonl", "max_steps": 100, **settings})
    return Facts(config, data, params=135e6, prior_lr=1e-3, needs_validation=True, cores=2)


def _of(settings: dict, data: DataFacts = DATA):
    return lambda config: _facts(data, **{k: v for k, v in config.items() if k != "dataset"} | settings)


def test_every_config_key_is_judged_or_listed_as_not_judged():
    everything = _facts(
        DataFacts(
            rows=200, mean_bytes=300.0, length_deciles=DATA.length_deciles, val_file_rows=40, val_overlap=1
        ),
        packing=False,
        num_threads=2,
        val_dataset="v.jsonl",
    )
    checks = run_checks(everything)
    assert len(checks) == len(QUANTITIES)  # every quantity applies to this config
    judged = {key for check in checks for key in check.keys}
    assert judged | set(UNJUDGED) == set(TrainConfig.model_fields)
    assert all(reason.strip() for reason in UNJUDGED.values())


# Settings a person gets wrong, each far out of a healthy range (a class of faults, sizes drawn by seed).
def _planted(rng: random.Random, rows: int, steps: int) -> dict:
    return {
        "learning_rate": rng.choice([rng.uniform(2e-2, 5.0), rng.uniform(1e-7, 5e-5)]),
        "lora_alpha": rng.choice([rng.uniform(0.1, 1.0), rng.uniform(100, 400)]),
        "lora_dropout": rng.uniform(0.4, 0.9),
        "max_seq_len": rng.choice([16, 32, 48]),
        "warmup_steps": rng.randint(int(0.31 * steps) + 1, 5 * steps + 10),
        "weight_decay": rng.uniform(0.2, 1.0),
        "adam_beta1": rng.uniform(0.0, 0.5),
        "adam_beta2": rng.uniform(0.3, 0.9),
        "max_grad_norm": rng.choice([0.0, rng.uniform(50, 1e5)]),
        "val_fraction": rng.uniform(0.0, min(0.02, 7 / rows)),  # fewer than 8 validation rows
        "eval_every": rng.randint(steps + 1, steps + 5000),
        "save_every": rng.randint(steps + 1, steps + 5000),
        "log_every": rng.randint(steps + 1, steps + 500),
        "diverge_factor": rng.uniform(30, 1e4),
        "diverge_patience": rng.randint(steps // 2 + 1, 3 * steps + 10),
        "num_threads": rng.randint(3, 64),
    }


@pytest.mark.parametrize("seed", range(200))
def test_every_planted_fault_is_named_and_its_fix_lands_in_range(seed):
    rng = random.Random(seed)
    steps = rng.choice([2, 5, 8, 30, 100, 400])
    rows = rng.choice([12, 60, 200, 5000])
    planted = dict(rng.sample(sorted(_planted(rng, rows, steps).items()), k=rng.randint(1, 5)))
    data = DataFacts(rows=rows, mean_bytes=DATA.mean_bytes, length_deciles=DATA.length_deciles)
    base = TrainConfig.model_validate({"dataset": "x.jsonl", "max_steps": steps, **planted}).model_dump()
    first = {c.quantity: c for c in run_checks(_of({}, data)(base))}  # judged on the config as given
    corrected, checks, notes = correct(base, _of({}, data), held={})
    flagged = {key for c in first.values() if c.out_of_range for key in c.keys}
    short = {"diverge_patience"} if steps < 8 else set()  # a run this short is not guarded long
    lr = planted.get("learning_rate", base["learning_rate"])
    if lr * planted.get("weight_decay", 0.0) * steps < 2:  # decays away less than ~86 %: harmless
        short.add("weight_decay")
    assert set(planted) - short <= flagged, (planted, [c.text() for c in checks])
    after = [c for c in run_checks(_of({}, data)(corrected)) if c.out_of_range]
    assert after == [], [c.text() for c in after]
    assert len(notes) == sum(1 for c in checks if c.out_of_range)


def test_pinned_settings_are_kept_and_warned_about():
    base = TrainConfig.model_validate(
        {"dataset": "x.jsonl", "max_steps": 100, "learning_rate": 30.0}
    ).model_dump()
    corrected, checks, notes = correct(base, _of({}), held={"learning_rate": "the goal"})
    assert corrected["learning_rate"] == 30.0
    (note,) = [n for n in notes if "learning_rate" in n]
    assert "30" in note and "learning_rate set by the goal" in note and "kept" in note
    lr = next(c for c in checks if c.quantity == "lr_vs_prior")
    assert lr.verdict == Verdict.HIGH and lr.value == pytest.approx(30_000)


def test_examples_far_longer_than_max_seq_len_are_estimated_as_dropped():
    check = next(c for c in run_checks(_facts(max_seq_len=32)) if c.quantity == "dropped_share")
    assert check.verdict == Verdict.HIGH and check.value > 0.9
    assert check.fix["max_seq_len"] >= 900 / 1.5  # holds the longest example at 1.5 bytes a token


def _steps(losses, lr=1e-3, grad_norms=None):
    norms = grad_norms or [1.0] * len(losses)
    return [
        {"event": "step", "step": i + 1, "loss": v, "lr": lr, "grad_norm": g}
        for i, (v, g) in enumerate(zip(losses, norms, strict=True))
    ]


def _completed(**metrics) -> RunResult:
    return RunResult(RunStatus.COMPLETED, "done", 24, final_metrics=metrics)


def _detect(result, events, settings, **kwargs):
    facts = _facts(**settings)
    config = facts.config.model_dump()
    checks = run_checks(facts) + live_checks(events, result, config, facts.data)
    return detect(result, events, config, SUCCESS, 1e-3, checks=checks, **kwargs)


def test_underfit_at_a_far_too_low_lr_raises_the_lr_instead_of_training_longer():
    falling = [4.0 - 0.01 * i for i in range(24)]
    finding = _detect(
        _completed(train_loss=3.8, val_loss=4.2), _steps(falling, lr=1e-6), {"learning_rate": 1e-6}
    )
    assert finding.diagnosis == Diagnosis.UNDERFIT
    assert [c.action for c in finding.candidates] == [Action.RAISE_LR]
    assert finding.candidates[0].changes == {"learning_rate": 1e-3}
    assert finding.evidence["cause"][0]["quantity"] == "lr_vs_prior"


def test_underfit_with_healthy_settings_still_trains_longer():
    falling = [4.0 - 0.05 * i for i in range(24)]
    finding = _detect(
        _completed(train_loss=2.8, val_loss=2.9), _steps(falling), {"max_steps": 24, "eval_every": 8}
    )
    assert finding.diagnosis == Diagnosis.UNDERFIT
    assert "cause" not in finding.evidence
    assert finding.candidates[0].action == Action.MORE_STEPS


def test_underfit_in_far_too_few_steps_sets_the_steps_the_evidence_asks_for_instead_of_doubling():
    falling = [4.0 - 0.2 * i for i in range(2)]  # 2 steps (BrokenLoRA's too_few_steps on SmolLM2)
    finding = _detect(_completed(train_loss=3.8, val_loss=3.9), _steps(falling), {"max_steps": 2})
    assert finding.diagnosis == Diagnosis.UNDERFIT
    assert finding.evidence["cause"][0]["quantity"] == "optimizer_steps"
    assert [c.action for c in finding.candidates] == [Action.MORE_STEPS]
    assert finding.candidates[0].changes["max_steps"] >= 10  # the healthy figure, not 2 × 2


def test_warmup_that_hides_the_peak_is_the_cause_of_a_flat_run():
    events = _steps([3.0] * 24, lr=1e-5)
    settings = {"max_steps": 24, "warmup_steps": 400, "eval_every": 8, "save_every": 8}
    finding = _detect(_completed(train_loss=3.0, val_loss=3.0), events, settings)
    assert finding.diagnosis == Diagnosis.PLATEAU
    keys = {k for c in finding.candidates for k in c.changes}
    assert keys == {"warmup_steps"}
    assert all(c.changes["warmup_steps"] < 24 for c in finding.candidates)


def test_divergence_at_a_far_too_high_lr_lowers_it_and_does_not_just_warm_up():
    result = RunResult(RunStatus.DIVERGED, "diverged", 10, evidence={"loss": 40.0})
    finding = _detect(result, _steps([3.0, 2.0, 9.0, 40.0] * 3, lr=0.5), {"learning_rate": 0.5})
    assert {c.action for c in finding.candidates} == {Action.LOWER_LR}
    assert all(c.changes["learning_rate"] <= 1e-3 for c in finding.candidates)


def test_several_causes_are_fixed_together_first():
    result = RunResult(RunStatus.NAN, "nan", 5)
    settings = {"learning_rate": 0.5, "max_grad_norm": 0.0}
    finding = _detect(result, _steps([3.0] * 5, lr=0.5), settings)
    together, *alone = finding.candidates
    assert together.changes == {"learning_rate": 1e-3, "max_grad_norm": 1.0}
    assert together.action == Action.FIX_SETTING and len(alone) == 2


def test_a_data_error_that_names_max_seq_len_relaunches_with_longer_sequences():
    evidence = {"max_seq_len": 64, "shortest_example_tokens": 90, "longest_example_tokens": 300}
    result = RunResult(
        RunStatus.DATA_ERROR, "every example is longer than max_seq_len=64", 0, evidence=evidence
    )
    finding = _detect(result, [], {"max_seq_len": 64})
    (fix,) = finding.candidates
    assert fix.tool == "relaunch_from_checkpoint" and fix.changes["max_seq_len"] >= 300


def test_the_trainers_dropped_examples_are_live_evidence():
    start = {
        "event": "run_start",
        "total_steps": 24,
        "dataset": {"dropped_too_long": 30, "train_examples": 60},
    }
    checks = live_checks([start], _completed(), _facts().config.model_dump(), DATA)
    (dropped,) = [c for c in checks if c.quantity == "dropped_examples"]
    assert dropped.verdict == Verdict.HIGH and dropped.value == pytest.approx(1 / 3)


def _attempt(number, diagnosis, loss, action=None):
    decision = None
    if action is not None:
        call = ToolCall(tool="relaunch_from_checkpoint", args={"fix": action.value, "max_steps": 48})
        decision = Decision(
            diagnosis=diagnosis, call=call, action=action, reason="r", source=DecisionSource.RULES
        )
    config = TrainConfig.model_validate({"dataset": "x.jsonl", "max_steps": 24 * number}).model_dump()
    finding = detect(_completed(), [], config, SUCCESS, 1e-3).model_copy(update={"diagnosis": diagnosis})
    return AttemptRecord(
        number=number,
        config=config,
        run_dir="r",
        status=RunStatus.COMPLETED,
        final_metrics={"val_loss": loss},
        started_at=0.0,
        ended_at=1.0,
        finding=finding,
        decision=decision,
    )


def test_a_fix_that_did_not_help_is_not_repeated_in_a_larger_size():
    attempts = [
        _attempt(1, Diagnosis.UNDERFIT, 4.20, Action.MORE_STEPS),
        _attempt(2, Diagnosis.UNDERFIT, 4.18),
    ]
    assert (Action.MORE_STEPS, ("max_steps",)) in unhelpful_fixes(attempts, SUCCESS)
    finding = _detect(
        _completed(val_loss=4.18), _steps([4.0 - 0.01 * i for i in range(48)]), {"max_steps": 48}
    )
    kept = without_repeats(finding, attempts[-1].config, attempts, SUCCESS)
    assert Action.MORE_STEPS not in {c.action for c in kept.candidates}


def test_a_fix_that_helped_may_be_repeated():
    attempts = [
        _attempt(1, Diagnosis.UNDERFIT, 4.2, Action.MORE_STEPS),
        _attempt(2, Diagnosis.UNDERFIT, 3.1),
    ]
    assert unhelpful_fixes(attempts, SUCCESS) == {}
    close = [_attempt(1, Diagnosis.UNDERFIT, 5.926, Action.MORE_STEPS), _attempt(2, Diagnosis.UNDERFIT, 5.9)]
    assert unhelpful_fixes(close, Success(val_loss_below=5.797)) == {}  # 20 % of a small gap is help


def test_a_configuration_that_already_failed_is_never_launched_again():
    attempts = [_attempt(1, Diagnosis.UNDERFIT, 4.2)]
    finding = _detect(
        _completed(val_loss=4.2), _steps([4.0 - 0.05 * i for i in range(12)]), {"max_steps": 12}
    )
    config = attempts[0].config | {"max_steps": 12}
    kept = without_repeats(finding, config, attempts, SUCCESS)  # doubling 12 gives attempt 1's 24 steps
    assert all(config | c.changes != attempts[0].config for c in kept.candidates if c.changes)
    # doubling (attempt 1's 24 steps) is gone; what is left is the steps the evidence asks for (12 < 20)
    assert all(c.changes.get("max_steps") != 24 for c in kept.candidates)


def test_explain_leaves_a_finding_no_check_explains():
    finding = detect(RunResult(RunStatus.OOM, "oom", 1), [], _facts().config.model_dump(), SUCCESS, 1e-3)
    assert explain(finding, run_checks(_facts()), _facts().config.model_dump()) == finding


def test_a_resumed_attempt_is_not_told_its_warmup_hid_the_peak_and_a_no_op_fix_explains_nothing():
    """Found on the SmolLM2 tier: more_steps continued attempt 1 at step 12 of 24 on a cosine schedule, so
    the steps it logged peaked at ~47 % of the lr; `lr_reached` blamed warmup and proposed warmup_steps 1,
    which the config already had — the only candidate, dropped as a repeat, and the goal stopped."""
    config = _facts(max_steps=24, warmup_steps=1).config.model_dump()
    peak = config["learning_rate"]
    decayed = [
        {**e, "step": e["step"] + 12, "lr": 0.47 * peak * (1 - i / 12)}
        for i, e in enumerate(_steps([4.0 - 0.01 * i for i in range(12)]))
    ]
    fresh = [c for c in live_checks(decayed, _completed(), config, DATA) if c.quantity == "lr_reached"]
    assert fresh and fresh[0].out_of_range  # the same rates from step 0 would be a hidden peak
    resumed = [{"event": "resumed", "step": 12, "path": "checkpoints/step-00000012"}, *decayed]
    assert [c for c in live_checks(resumed, _completed(), config, DATA) if c.quantity == "lr_reached"] == []
    finding = _detect(_completed(train_loss=3.9, val_loss=4.2), resumed, {"max_steps": 24, "warmup_steps": 1})
    assert finding.diagnosis == Diagnosis.UNDERFIT and Action.ADD_WARMUP not in {
        c.action for c in finding.candidates
    }
    no_op = fresh[0].model_copy(update={"fix": {"warmup_steps": 1}})  # what the config already has
    underfit = finding.model_copy(update={"evidence": {}})
    assert explain(underfit, [no_op], config) == underfit  # a fix that changes nothing explains nothing
