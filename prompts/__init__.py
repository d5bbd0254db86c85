"""openlora.prompts."""
