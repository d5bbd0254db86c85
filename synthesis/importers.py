"""The log importer's old address, kept so existing callers and notebooks keep working.

What it is for: re-exporting the ``siem`` pack's importer (``import_logs``, ``parse_line``,
``import_text`` and the report and event types) under ``openlora.synthesis.importers``.
What it is not for: new code — use a pack through ``openlora.synthesis.packs`` (the registry), which
is how the CLI, the TUI and the web page import raw files.
"""

from __future__ import annotations

from openlora.packs.siem.events import LogEvent, event_pairs, indicators, summary
from openlora.packs.siem.importer import ImportReport, import_logs, import_text
from openlora.packs.siem.lines import parse_line

__all__ = [
    "ImportReport",
    "LogEvent",
    "event_pairs",
    "import_logs",
    "import_text",
    "indicators",
    "parse_line",
    "summary",
]
