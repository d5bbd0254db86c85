"""openlora.evaluation: scoring a fine-tune against references and against its base model."""
