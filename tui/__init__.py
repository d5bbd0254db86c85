"""openlora.tui."""
