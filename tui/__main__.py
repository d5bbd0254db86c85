"""``python -m openlora.tui [OPTIONS]``: the TUI itself; what ``tui --web`` serves to each browser tab."""

from __future__ import annotations

import sys

from openlora.cli.main import app

if __name__ == "__main__":
    app(["tui", *sys.argv[1:]])
