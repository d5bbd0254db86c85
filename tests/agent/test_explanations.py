"""The checks on what a person reads: junk a small model emits is caught; a composed reason passes."""

from __future__ import annotations

import pytest

from openlora.agent.explanations import explanation_problems, well_formed
from openlora.agent.records import Action, Decision, DecisionSource, Diagnosis, ToolCall

JUNK = [
    "1.0.0.1.1.1.1.1.1.1.1.1",
    "dio_spy_spy_spy_spy_spy_spy",
    "diois de la mise en référence de la mise en référence de la mise en référence de la mise en référence",
    "",
    "   ",
    "ok\x00then",
    "x" * 1300,
]


@pytest.mark.parametrize("text", JUNK)
def test_what_small_models_emit_when_they_go_wrong_is_not_well_formed(text):
    assert well_formed(text)


def test_a_composed_reason_names_the_diagnosis_and_every_changed_setting():
    decision = Decision(
        diagnosis=Diagnosis.DIVERGED,
        action=Action.LOWER_LR,
        call=ToolCall(tool="relaunch_from_checkpoint", args={"fix": "lower_lr", "learning_rate": 1e-3}),
        reason="learning_rate 0.5 is 500× the prior 0.001 for a ~135M-parameter model (healthy 0.1×–10×)",
        source=DecisionSource.RULES,
    )
    text = decision.explanation()
    assert explanation_problems(text, "diverged", decision.changes) == []
    assert explanation_problems("the loss went up", "diverged", {"learning_rate": 1e-3}) == [
        "does not name the diagnosis 'diverged'",
        "does not name the changed setting 'learning_rate'",
    ]
