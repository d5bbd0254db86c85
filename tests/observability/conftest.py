"""Shared fixtures of the observability tests."""

from tests.agent.conftest import home  # noqa: F401 - re-exported fixture
