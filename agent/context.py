"""Runtime context of the supervisor graph: the advisor, memory, registry and tool bindings.

Unlike the state, none of this is checkpointed; ``openlora-agent run --resume`` rebuilds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openlora.llm.advisor import Advisor
from openlora.memory.incidents import IncidentMemory
from openlora.memory.registry import RunRegistry
from openlora.tools.context import ToolContext


@dataclass
class Context:
    advisor: Advisor
    tools: ToolContext
    memory: IncidentMemory | None
    registry: RunRegistry | None
    poll_s: float = 0.5
    echo: Callable[[str], None] = print
    # Polled by long waits; True stops supervising (the trainer goes on; --resume reattaches).
    cancelled: Callable[[], bool] = lambda: False
    extra: dict[str, Any] = field(default_factory=dict)
