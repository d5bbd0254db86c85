"""openlora.memory."""
