"""``python -m openlora.tui [OPTIONS]``: the TUI itself; what ``tui --web`` serves to each browser tab.

It runs the ``tui`` command alone (not the whole CLI, which also mounts the web page's command: the
TUI and the web page stay independent fronts).
"""

from __future__ import annotations

import typer

from openlora.cli.serve_commands import tui

if __name__ == "__main__":
    typer.run(tui)
