"""openlora.tools."""
