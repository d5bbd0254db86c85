"""What the web page starts from: where runs and uploads go, and the defaults of the goals it drafts.

What it is for: ``openlora-agent web`` fills :class:`WebSettings` from its options; tests point
``base_model`` (and ``training``) at a tiny model, as the TUI's ``TuiSettings`` do. Runs, drafts and
uploads all live under ``runs``: ``runs/<goal>-<time>/``, ``runs/drafts/``, ``runs/uploads/``.
What it is not for: the server's address and token (``web.server``), or the goal schema
(``agent.goal``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openlora.chat.drafts import DEFAULT_TRAINING
from openlora.trainer.config import EMBEDDED_BASE
from openlora.ui_core.uploads import DEFAULT_MAX_UPLOAD, uploads_dir


@dataclass
class WebSettings:
    """The page's folders and the defaults of new goals."""

    runs: Path = Path("runs")
    base_model: str = EMBEDDED_BASE
    training: dict[str, Any] = field(default_factory=dict)  # over chat.drafts.DEFAULT_TRAINING
    approval: str = "ask"
    advisor_model: str = EMBEDDED_BASE
    max_upload: int = DEFAULT_MAX_UPLOAD
    poll_s: float = 1.0  # how often an open Monitor tab looks for news

    @property
    def uploads(self) -> Path:
        return uploads_dir(self.runs)

    @property
    def drafts(self) -> Path:
        return self.runs / "drafts"

    def goal_defaults(self) -> dict[str, Any]:
        """The values a new goal form starts with, where they differ from the schema's."""
        return {
            "base_model": self.base_model,
            "approval": self.approval,
            "training": {**DEFAULT_TRAINING, **self.training},
            "success.val_loss_below": 1.5,
            "budget.max_attempts": 3,
            "budget.max_wall_minutes": 30,
        }
