"""Incident memory with the real all-MiniLM-L6-v2 embeddings and a real Chroma index."""

from __future__ import annotations

import pytest

from openlora.memory.incidents import IncidentMemory, NewIncident
from openlora.memory.records import Diagnosis, Fix, Outcome
from openlora.memory.signature import Symptom
from openlora.memory.store import MemoryStore

NAN_CURVE = [2.4, 2.2, 2.0, 1.9, 1.85, 1.8, 4.1, 19.0, None]


def _nan_incidents() -> list[tuple[NewIncident, Outcome]]:
    """Two NaN incidents whose fixes had opposite outcomes."""
    fixed = Symptom(
        "nan",
        "llama",
        NAN_CURVE,
        note="learning rate raised from 2e-4 to 2e-3 at step 6",
        config={"learning_rate": 2e-3},
    )
    not_fixed = Symptom(
        "nan", "llama", NAN_CURVE, note="loss exploded after warmup ended", config={"learning_rate": 3e-3}
    )
    return [
        (NewIncident(fixed, fix=Fix("lower_lr", {"learning_rate": 2e-4})), Outcome.FIXED),
        (NewIncident(not_fixed, fix=Fix("longer_warmup", {"warmup_steps": 100})), Outcome.NOT_FIXED),
    ]


def _other_incidents() -> list[tuple[NewIncident, Outcome]]:
    """One incident each of oom, plateau, overfit and data_error, all fixed."""
    symptoms_and_fixes = [
        (
            Symptom(
                "oom",
                "llama",
                [],
                error_tail="RuntimeError: DefaultCPUAllocator: can't allocate memory "
                "(tried to allocate 2147483648 bytes)",
                config={"batch_size": 64, "max_seq_len": 2048},
            ),
            Fix("smaller_batch", {"batch_size": 8, "grad_accum": 8}),
        ),
        (
            Symptom("plateau", "gpt2", [3.1] * 60, config={"learning_rate": 1e-7}),
            Fix("raise_lr", {"learning_rate": 1e-4}),
        ),
        (
            Symptom(
                "overfit",
                "qwen2",
                [2.0, 1.2, 0.6, 0.2, 0.05, 0.01],
                note="validation loss rising from 1.1 to 2.4 while training loss falls",
                dataset_stats={"train_examples": 32},
                config={"epochs": 20},
            ),
            Fix("early_stop", {"max_steps": 40}),
        ),
        (
            Symptom("data_error", "llama", [], error_tail="data.jsonl:41: broken JSON line: Expecting value"),
            Fix("repair_data", {"drop_lines": [41]}),
        ),
    ]
    return [(NewIncident(symptom, fix=fix), Outcome.FIXED) for symptom, fix in symptoms_and_fixes]


def _past_incidents() -> list[tuple[NewIncident, Outcome]]:
    """Five diagnoses; two NaN incidents whose fixes had opposite outcomes."""
    return _nan_incidents() + _other_incidents()


@pytest.fixture
def memory(tmp_path) -> IncidentMemory:
    memory = IncidentMemory(MemoryStore(tmp_path / "home"))
    for item, outcome in _past_incidents():
        incident = memory.add(item)
        memory.update_outcome(incident.id, outcome)
    return memory


def test_nan_after_lr_increase_retrieves_the_nan_incident_first(memory):
    symptom = Symptom(
        "nan",
        "llama",
        [2.1, 1.9, 1.7, 1.6, 1.6, 5.0, 30.0, None],
        note="learning rate increased x4 at step 5",
        config={"learning_rate": 8e-4},
    )
    hits = memory.search(symptom, k=6)
    assert len(hits) == 6
    assert hits[0].incident.diagnosis == Diagnosis.NAN
    assert hits[0].incident.fix.action == "lower_lr"
    assert [h.similarity for h in hits] == sorted((h.similarity for h in hits), reverse=True)
    assert all(-1.0 <= h.similarity <= 1.0 for h in hits)
    assert {h.incident.diagnosis for h in hits} == {"nan", "oom", "plateau", "overfit", "data_error"}

    # words work too, the way a person searches from the CLI
    assert memory.search("loss went nan at step 40", k=1)[0].incident.diagnosis == Diagnosis.NAN


def test_the_fix_that_worked_ranks_above_the_one_that_failed(memory):
    ranked = memory.rank_fixes(Symptom("nan", "llama", NAN_CURVE, note="learning rate raised at step 6"))
    actions = [r.fix.action for r in ranked]
    assert actions.index("lower_lr") < actions.index("longer_warmup")
    lower = ranked[actions.index("lower_lr")]
    assert (lower.worked, lower.failed, lower.success_rate) == (1, 0, 1.0)
    assert ranked[actions.index("longer_warmup")].score < 0


def test_filters_by_family_and_diagnosis(memory):
    assert {
        h.incident.model_family for h in memory.search("training problem", k=10, model_family="llama")
    } == {"llama"}
    only_oom = memory.search("training problem", k=10, diagnosis="oom")
    assert [h.incident.diagnosis for h in only_oom] == [Diagnosis.OOM]
    assert memory.search("anything", k=5, model_family="llama", diagnosis="plateau") == []


def test_outcomes_and_lookups(memory):
    incident = memory.search("out of memory", k=1)[0].incident
    assert memory.get(incident.id[:8]).id == incident.id
    memory.update_outcome(incident.id, Outcome.MADE_WORSE)
    assert memory.get(incident.id).outcome == Outcome.MADE_WORSE
    with pytest.raises(KeyError):
        memory.update_outcome("nope", Outcome.FIXED)
    with pytest.raises(KeyError):
        memory.get("zzzz")
