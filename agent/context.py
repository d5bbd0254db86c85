"""Runtime context of the supervisor graph: the advisor, memory, recorder and the tools' binding.

Unlike the state, none of this is checkpointed; ``openlora-agent run --resume`` rebuilds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from openlora.advisor.client import Advisor
from openlora.agent.recorder import Recorder
from openlora.memory.incidents import IncidentMemory
from openlora.tools.context import ToolContext


@dataclass
class Context:
    advisor: Advisor
    tools: ToolContext
    memory: IncidentMemory | None  # None when the goal turns memory off
    recorder: Recorder
    poll_s: float = 0.5
    # Polled by long waits; True stops supervising (the trainer goes on; --resume reattaches).
    cancelled: Callable[[], bool] = lambda: False
