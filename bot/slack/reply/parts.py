"""The pieces a streamed reply is made of: where it goes, its messages, their measure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.slack.reply.format import to_slack


def rendered_size(markdown: str) -> int:
    """Return the length of what is sent for `markdown` (tables padded, `<` escaped)."""
    return len(to_slack(markdown))


class CutShort(Exception):  # noqa: N818 - control flow inside StreamingReply
    """The final text could not all be posted; the last message says so."""


@dataclass(slots=True)
class Part:
    """One Slack message of a reply, as last sent."""

    ts: str
    sent: str = ""
    shown: dict[str, Any] | None = None  # the content arguments last sent (format, buttons)
    start: int = 0  # where this message starts in the whole answer
    prefix: str = ""  # the code fence it reopens


@dataclass(slots=True)
class ReplyTarget:
    """Where a reply goes."""

    team_id: str
    channel: str
    thread_ts: str
    asker: str = ""  # whose question it answers: the edit budget serves people in turn
