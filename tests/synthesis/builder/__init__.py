"""Tests of the offline dataset builder (openlora.synthesis.builder)."""
