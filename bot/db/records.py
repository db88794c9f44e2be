"""What the store reads and writes: plain frozen records, free of SQLAlchemy."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ReplyStatus(StrEnum):
    """How a stored assistant message stands; stored as its value."""

    STREAMING = "streaming"  # being written by the replica in `owner`
    COMPLETE = "complete"
    STOPPED = "stopped"  # the user pressed Stop
    FAILED = "failed"  # the model or the bot failed; the reply says so
    INTERRUPTED = "interrupted"  # a deadline, a shutdown or a crash ended it


@dataclass(frozen=True, slots=True)
class ThreadKey:
    """Where a conversation lives: workspace, channel and thread root."""

    team_id: str
    channel_id: str
    thread_ts: str


@dataclass(frozen=True, slots=True)
class StoredFile:
    """What was read from a file on a message (see bot/files)."""

    name: str
    mimetype: str
    kind: str  # text | image
    content: str  # the text, or the image as a data URL
    file_id: str = ""
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to append to a thread."""

    role: str
    content: str = ""
    user_id: str | None = None
    slack_ts: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    status: str = ReplyStatus.COMPLETE
    files: tuple[StoredFile, ...] = ()
    provider_fields: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message read back from a thread, oldest first."""

    id: int
    role: str
    content: str
    user_id: str | None = None
    slack_ts: str | None = None
    tool_calls: list[dict[str, Any]] | None = field(default=None)
    tool_call_id: str | None = None
    status: str = ReplyStatus.COMPLETE
    files: tuple[StoredFile, ...] = ()
    provider_fields: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class OpenClaim:
    """A message claimed by a process that is gone before its reply row existed."""

    key: ThreadKey  # where the answer goes (thread_ts "" for a top-level DM answer)
    message_ts: str
    owner: str | None
    reply_ts: str | None  # its placeholder, when the process got to note it


@dataclass(frozen=True, slots=True)
class UnfinishedReply:
    """An assistant message left streaming by a process that is gone."""

    id: int
    key: ThreadKey
    slack_ts: str | None
    content: str
    owner: str | None = None  # the replica it was taken from
    parts: list[list[Any]] | None = None  # the messages it spans, as saved
