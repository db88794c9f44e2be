"""Logging setup: plain or JSON lines with the turn's ids; secrets and message text kept out.

Message text is logged only when `LOG_MESSAGE_TEXT=true`; otherwise `message_text()` logs its
length. Every line passes through a filter that masks the configured secrets and anything
shaped like a Slack or OpenAI token, whatever logged it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO

from bot.telemetry import scope

TOKEN_SHAPES = re.compile(
    r"\b(?:xox[abposre]|xapp|xoxe\.xox[bp])-[A-Za-z0-9-]{6,}|\bsk-[A-Za-z0-9_-]{16,}"
)
NOISY = ("httpx2", "httpx", "httpcore", "openai._base_client", "slack_sdk.web", "slack_bolt")
_allow_text = False


def message_text(text: str) -> str:
    """Return `text` for a log line when LOG_MESSAGE_TEXT allows it, else only its size."""
    return repr(text) if _allow_text else f"<{len(text)} chars>"


class RedactSecrets(logging.Filter):
    """Mask secret values and token-shaped strings in every record's final message."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.mask(logging.Formatter().formatException(record.exc_info))
        return True

    def mask(self, text: str) -> str:
        """Return `text` with secrets replaced by a marker."""
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        return TOKEN_SHAPES.sub("[secret]", text)


class TurnIds(logging.Filter):
    """Attach the current turn's team, channel and turn id to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = scope.current()
        record.team_id = current.team_id if current else None
        record.channel_id = current.channel_id if current else None
        record.turn_id = current.turn_id if current else None
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("team_id", "channel_id", "turn_id"):
            value = getattr(record, key, None)
            if value:
                line[key] = value
        if record.exc_info or record.exc_text:
            line["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(line, ensure_ascii=False)


def configure(
    level: str = "INFO",
    *,
    fmt: str = "text",
    secrets: Iterable[str | None] = (),
    allow_message_text: bool = False,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send the bot's logs to stderr (or `stream`) as plain text or JSON lines."""
    global _allow_text
    _allow_text = allow_message_text
    handler = logging.StreamHandler(stream)
    handler.addFilter(TurnIds())
    handler.addFilter(RedactSecrets(secrets))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    # The HTTP clients log request lines with headers at DEBUG; keep tokens out of logs.
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
    return handler
