"""An overfit that the training set's size explains gets synthesis as its fix; other overfits keep early
stopping; the synthesis relaunch refuses what it cannot extend."""

from __future__ import annotations

import json

import pytest

from openlora.agent.candidates import relaunch
from openlora.agent.decision import allowed_calls, validate_choice
from openlora.agent.goal import Success
from openlora.agent.more_data import pairs_to_add, too_little_data
from openlora.agent.records import Action, Diagnosis, Finding
from openlora.tools import registry
from openlora.tools.context import ToolContext, ToolError
from openlora.trainer.config import TrainConfig

SUCCESS = Success(val_loss_below=1.5)


def _events(vals: list[float]) -> list[dict]:
    return [{"event": "eval", "step": 4 * (i + 1), "val_loss": v} for i, v in enumerate(vals)]


def _overfit() -> Finding:
    return Finding(
        diagnosis=Diagnosis.OVERFIT,
        evidence={"val_min": 2.0},
        candidates=[relaunch(Action.EARLY_STOP, "val loss rose: stop at the best", max_steps=8)],
    )


def test_an_overfit_whose_best_evaluation_missed_the_target_after_full_passes_asks_for_more_rows():
    found = too_little_data(_overfit(), _events([2.4, 2.0, 2.3]), SUCCESS, train_pairs=16, passes=6.0)
    assert [c.action for c in found.candidates] == [Action.SYNTHESIZE_DATA]  # stopping earlier cannot
    first = found.candidates[0]
    assert first.tool == "relaunch_on_synthesized_data" and first.call.args == {"pairs": pairs_to_add(16)}
    assert first.changes == {}  # a data fix: no training setting moves
    assert "2" in first.why and "1.5" in first.why and "16 training pairs" in first.why
    assert found.evidence["val_best"] == 2.0 and found.evidence["passes_at_best"] == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("vals", "pairs", "passes", "why"),
    [
        ([1.6, 1.2, 1.4], 16, 6.0, "the best evaluation met the target: stopping there is the fix"),
        ([2.4, 2.0, 2.3], 16, 1.2, "the best came before one pass: the rows were not used up"),
        ([2.4, 2.0, 2.3], 2, 6.0, "too few pairs to show the advisor"),
    ],
)
def test_other_overfits_keep_their_candidates(vals, pairs, passes, why):
    found = too_little_data(_overfit(), _events(vals), SUCCESS, train_pairs=pairs, passes=passes)
    assert [c.action for c in found.candidates] == [Action.EARLY_STOP], why


def test_only_an_overfit_and_only_a_validation_target_qualify():
    underfit = _overfit().model_copy(update={"diagnosis": Diagnosis.UNDERFIT})
    events = _events([2.4, 2.0, 2.3])
    assert too_little_data(underfit, events, SUCCESS, 16, 6.0) == underfit
    train_only = Success(train_loss_below=0.5)
    assert too_little_data(_overfit(), events, train_only, 16, 6.0) == _overfit()


def test_the_advisor_may_choose_a_pair_count_in_the_range_and_nothing_outside_it():
    found = too_little_data(_overfit(), _events([2.4, 2.0, 2.3]), SUCCESS, train_pairs=40, passes=6.0)
    spec = allowed_calls(found)[0]["function"]
    assert spec["name"] == "relaunch_on_synthesized_data"
    assert spec["parameters"]["properties"]["pairs"] == {  # 20–120: more than 64 values, so bounds
        "type": "integer",
        "minimum": 20.0,
        "maximum": 120.0,
        "description": registry.chooser_schema("relaunch_on_synthesized_data")["properties"]["pairs"][
            "description"
        ],
    }
    config = TrainConfig(base_model="m", dataset="d.jsonl").model_dump()
    chosen = {"name": "relaunch_on_synthesized_data", "arguments": {"pairs": 60}}
    decision = validate_choice(json.dumps(chosen), found, config, 1e-4)
    assert decision.source == "advisor" and decision.call.args == {"pairs": 60}
    too_many = {"name": "relaunch_on_synthesized_data", "arguments": {"pairs": 500}}
    refused = validate_choice(json.dumps(too_many), found, config, 1e-4)
    assert refused.source == "rules" and "outside" in refused.rejected
    assert refused.call.args == {"pairs": 40}


def test_synthesis_refuses_a_training_file_with_too_few_pairs_or_no_advisor(tmp_path):
    from openlora.trainer.rundir import GoalDir, RunDir, write_json_atomic
    from tests.conftest import write_jsonl

    run_root = tmp_path / "run"
    attempt = GoalDir(run_root).attempt(1).root
    RunDir(attempt).root.mkdir(parents=True)
    few = write_jsonl(tmp_path / "few.jsonl", [{"prompt": "a b c d", "response": "x"}] * 2)
    write_json_atomic(RunDir(attempt).spec, {"dataset": str(few)})
    ctx = ToolContext(run_root)
    with pytest.raises(ToolError, match="has 2 prompt/response pairs"):
        registry.invoke("relaunch_on_synthesized_data", ctx, {"pairs": 4}, {"from_attempt": 1})
    rows = [{"prompt": f"a b c {i}", "response": "x"} for i in range(5)]
    enough = write_jsonl(tmp_path / "enough.jsonl", rows)
    write_json_atomic(RunDir(attempt).spec, {"dataset": str(enough)})
    with pytest.raises(ToolError, match="no advisor"):
        registry.invoke("relaunch_on_synthesized_data", ctx, {"pairs": 4}, {"from_attempt": 1})
    assert not GoalDir(run_root).data.exists() or not any(GoalDir(run_root).data.iterdir())


def test_a_small_integer_range_is_an_enum_the_grammar_enforces():
    found = too_little_data(_overfit(), _events([2.4, 2.0, 2.3]), SUCCESS, train_pairs=8, passes=6.0)
    pairs = allowed_calls(found)[0]["function"]["parameters"]["properties"]["pairs"]
    assert pairs["type"] == "integer" and pairs["enum"] == list(range(4, 25))
