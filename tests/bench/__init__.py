"""Tests of the benchmarks that CI runs in small form."""
