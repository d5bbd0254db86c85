"""The one recorder of what the supervisor does: console, timeline, ``agent_events.jsonl``, registry, Grafana.

Every node reports through a :class:`Recorder`, so each fact is written the same way everywhere:
``say`` echoes a timeline line and returns it for the state; ``event`` appends a line to
``agent_events.jsonl`` (only enums, ids and numbers, so the Prometheus exporter can turn the file into
bounded series — prose stays in the report); ``decision`` records a decision as a tool call in the
events, the run registry and, when configured, a Grafana annotation; ``attempt`` records an attempt
with its own start and end times. The recorder writes nothing else and decides nothing.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openlora.agent.records import AttemptRecord, Decision, GoalStatus
from openlora.agent.state import TimelineEntry
from openlora.trainer.rundir import GoalDir

if TYPE_CHECKING:
    from openlora.memory.registry import RunRegistry


class Recorder:
    """Writes the supervisor's record of one goal run (``run_root``)."""

    def __init__(
        self,
        run_root: Path,
        registry: RunRegistry | None = None,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.folder = GoalDir(Path(run_root))
        self.run_id = self.folder.root.name
        self.registry = registry
        self.echo = echo

    def say(self, node: str, text: str) -> TimelineEntry:
        """Echo one timeline line and return it (nodes add it to the state's timeline)."""
        self.echo(f"[{node}] {text}")
        return TimelineEntry(t=round(time.time(), 3), node=node, text=text)

    def event(self, kind: str, **fields: Any) -> None:
        """Append one event to ``agent_events.jsonl`` (flushed and fsynced)."""
        line = json.dumps({"event": kind, "time": round(time.time(), 3), **fields}, default=str)
        with self.folder.agent_events.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def action(self, tool: str, attempt: int, outcome: str = "ok") -> None:
        self.event("action", tool=tool, outcome=outcome, attempt=attempt)

    def state(self, status: GoalStatus) -> None:
        self.event("state", status=status.value)

    def decision(self, decision: Decision, attempt: int, latency_s: float | None = None) -> None:
        """A decision as a tool call: in the events, the registry and a Grafana annotation."""
        self.event(
            "decision",
            attempt=attempt,
            diagnosis=decision.diagnosis.value,
            action=decision.action.value,
            tool=decision.call.tool,
            arguments=decision.call.args,
            source=decision.source.value,
            schema_valid=decision.schema_valid,
            latency_s=latency_s,
        )
        if self.registry is not None:
            self.registry.record_decision(
                self.run_id,
                attempt,
                decision.action.value,
                decision.call.model_dump(mode="json"),
                decision.reason,
                decision.source.value,
                decision.diagnosis.value,
            )
        self._annotate(decision)

    def _annotate(self, decision: Decision) -> None:
        from openlora.observability.grafana import configured, post_annotation

        grafana = configured()
        if grafana is None:
            return
        text = f"{decision.diagnosis.value}: {decision.call.text()} — {decision.reason}"
        error = post_annotation(*grafana, run=self.run_id, action=decision.action.value, text=text)
        if error:
            self.echo(f"[grafana] annotation not posted: {error}")

    def attempt(self, record: AttemptRecord) -> None:
        """The attempt in the registry, with its own start and end times."""
        if self.registry is not None:
            self.registry.record_attempt(
                self.run_id,
                record.number,
                record.run_dir,
                record.config,
                record.status.value,
                record.message,
                record.started_at,
                record.ended_at,
                record.final_metrics,
            )

    def goal(self, name: str, status: GoalStatus | str, **fields: Any) -> None:
        """The goal run's row in the registry."""
        if self.registry is not None:
            self.registry.upsert_run(self.run_id, name, str(status), **fields)
