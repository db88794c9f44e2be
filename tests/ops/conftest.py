"""Fixtures for the tests that run the bot as a real process."""

from bot.testing.processes import launch  # noqa: F401 - a fixture
