"""openlora.cli."""
