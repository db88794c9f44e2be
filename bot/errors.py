"""One exception root; each subclass says who sees it.

Under `BotError`: `UserFacingError` (the asker reads its message: storage, shutdown, model
errors in `bot.llm.errors`), `SettingsError` (the operator, at start: `bot.settings`),
`ToolError` and `ToolArgumentError` (the model, as a tool result: `bot.tools`), and
`SlackWriteFailed` (logs: a write to Slack that had to land did not: `bot.slack.writer`).
"""

from __future__ import annotations


class BotError(Exception):
    """Root of every error the bot raises on purpose."""


class UserFacingError(BotError):
    """A failure the asking user is told about, with a short message from `bot.texts`."""

    def __init__(self, user_message: str, *, detail: str = "") -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message


class StorageUnavailable(UserFacingError):
    """The database could not be reached; the turn fails and the bot keeps serving."""


class ShuttingDown(UserFacingError):
    """The process began shutting down before this answer could start streaming."""
