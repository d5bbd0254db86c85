"""openlora.trainer."""
