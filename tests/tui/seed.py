"""A registry and an incident memory with known contents, for the history and incident screens."""

from __future__ import annotations

from openlora.memory.incidents import IncidentMemory, NewIncident
from openlora.memory.records import Fix, Outcome
from openlora.memory.registry import RunRegistry
from openlora.memory.signature import Symptom

T0 = 1_790_000_000.0  # fixed times keep the snapshots stable


def seed() -> tuple[RunRegistry, IncidentMemory]:
    registry, memory = RunRegistry(), IncidentMemory()
    runs = [
        (
            "siem-20260101-090000",
            "siem",
            "success",
            [("nan", "loss became nan at step 6"), ("completed", "ok")],
        ),
        ("rescue-20260102-090000", "rescue", "failed", [("diverged", "loss rose 8x over 12 steps")]),
        ("quickstart-20260103-090000", "quickstart", "success", [("completed", "trained 24 steps")]),
    ]
    for n, (run_id, name, status, attempts) in enumerate(runs):
        registry.upsert_run(
            run_id, name, status, base_model="embedded:smollm2", final_metrics={"val_loss": 0.8 + n}
        )
        for number, (attempt_status, message) in enumerate(attempts, start=1):
            registry.record_attempt(
                run_id,
                number,
                f"/runs/{run_id}/attempt-{number}",
                {"learning_rate": 30.0},
                attempt_status,
                message,
                T0,
                T0 + 60,
                {"train_loss": 1.0 / number},
            )
        if attempts[0][0] != "completed":
            diagnosis = attempts[0][0]
            call = {"tool": "relaunch_from_checkpoint", "args": {"fix": "lower_lr", "learning_rate": 3.0}}
            registry.record_decision(run_id, 1, "lower_lr", call, "the loss blew up", "advisor", diagnosis)
            memory.add(
                NewIncident(
                    Symptom(
                        diagnosis, "llama", [2.0, 1.5, float("nan")] if diagnosis == "nan" else [2, 4, 16]
                    ),
                    Fix("lower_lr", {"learning_rate": 3.0}),
                    run_id=run_id,
                    attempt=1,
                    id=f"{diagnosis}-incident-{n:04d}",
                )
            )
    memory.update_outcome("nan-incident-0000", Outcome.FIXED)
    with registry.store.writer():
        for n, (run_id, *_rest) in enumerate(runs):
            registry.store.db.execute("UPDATE runs SET created_at = ? WHERE id = ?", (T0 + n * 86400, run_id))
        registry.store.db.execute("UPDATE incidents SET created_at = ?", (T0,))
    return registry, memory
