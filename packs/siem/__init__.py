"""The ``siem`` pack: security logs → instruction pairs (summarise, classify severity, extract indicators).

What it is for: declaring the pack (``PACK``, registered in pyproject.toml under ``openlora.packs``):
one importer for log files mixing BSD/ISO/RFC 5424 syslog (auth.log's sshd, sudo, su and PAM lines
included), generic JSON events, CEF, journald JSON (``journalctl -o json``), Suricata EVE JSON and Zeek
JSON logs; a check that an output is one of the four severity labels; goal defaults for the task.
What it is not for: the parsing itself (``lines``, ``auth``, ``structured``, ``importer``).
"""

from __future__ import annotations

from openlora.packs.siem.events import SEVERITIES
from openlora.packs.siem.importer import run
from openlora.synthesis.packs.interface import (
    INTERFACE_VERSION,
    Check,
    GoalDefaults,
    Importer,
    Pack,
    Recipe,
    Template,
)


def severity_label(prompt: str, output: str) -> bool:
    """A severity question is answered with exactly one of the four labels."""
    if not prompt.startswith("Classify the severity"):
        return True
    return output.strip().lower().rstrip(".") in SEVERITIES


PACK = Pack(
    name="siem",
    version="1.0.0",
    interface_version=INTERFACE_VERSION,
    description="Security logs (syslog, auth.log, journald, JSON, CEF, Suricata, Zeek) → instruction pairs.",
    importers=(
        Importer(
            name="logs",
            help=(
                "One event a line, formats mixed: syslog (BSD, ISO time, RFC 5424; sshd/sudo/su/PAM lines "
                "as auth events), JSON events, CEF, journald JSON, Suricata EVE JSON, Zeek JSON. Unknown "
                "lines are skipped with their numbers."
            ),
            accepts=("*",),
            run=run,
        ),
    ),
    checks=(Check("severity-label", "Severity answers are low, medium, high or critical.", severity_label),),
    templates=(
        Template(
            "summarise", "Ask for a one-line summary of an event.", "Summarise this security event.\n{input}"
        ),
    ),
    recipes=(
        Recipe(
            "triage",
            "New triage questions about the imported events.",
            "Write a question an analyst would ask about this event; answer it from the event's fields only.",
        ),
    ),
    goal_defaults=GoalDefaults(
        task="Summarise security events, classify their severity and extract their indicators.",
        success={"val_loss_below": 1.0},
        evaluation={"samples": 20},
        checks=("severity-label",),
    ),
)
