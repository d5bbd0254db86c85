"""openlora.agent."""
