"""The facts the evidence is computed from, for one config of the goal being supervised.

The dataset figures come from the data gate (``inspect_dataset`` on the training and validation
files), the model size and prior from the plan, the target from the goal. ``prepare`` judges the
first config on them; ``diagnose`` judges each attempt's config again after it ended.
"""

from __future__ import annotations

import os
from typing import Any

from openlora.agent.evidence import DataFacts, Facts
from openlora.agent.goal import Goal
from openlora.agent.planner import Plan
from openlora.tools.inspect_dataset import DatasetReport
from openlora.trainer.config import TrainConfig


def facts_for(
    config: dict[str, Any], goal: Goal, plan: Plan, dataset: DatasetReport, validation: DatasetReport | None
) -> Facts:
    return Facts(
        config=TrainConfig.model_validate(config),
        data=DataFacts.from_reports(dataset, validation),
        params=plan.params,
        prior_lr=plan.prior_lr,
        needs_validation=goal.success.val_loss_below is not None,
        cores=os.cpu_count() or 1,
    )
