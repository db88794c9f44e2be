"""Mark a reply that a stopped or crashed process left unfinished, in Slack.

Every edit here sets `blocks` explicitly (a Markdown block, no buttons): the message may
carry the Stop button, and `chat.update` keeps a message's blocks unless `blocks` or `text`
is given, so only an explicit `blocks` is sure to remove it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot import texts
from bot.db.records import ThreadKey
from bot.slack.reply.format import to_slack
from bot.slack.reply.markup import blocks_content
from bot.slack.reply.split import split_message
from bot.slack.writer import Writer

logger = logging.getLogger(__name__)


async def mark_interrupted(
    writer: Writer,
    key: ThreadKey,
    ts: str,
    shown: str,
    *,
    limit: int,
    parts: Sequence[Sequence[Any]] | None = None,
) -> None:
    """Edit the reply's last message to its saved text plus the note.

    `parts` ([ts, start in `shown`, reopened fence] per message, saved as the reply rolled
    over) says where the last message starts. Without it only the first message is known;
    when the saved text no longer fits one message the reply had rolled over unseen, so
    that message gets its own first part back and the note goes at the end of the thread.
    """
    last_ts, start, prefix = parts[-1] if parts else (ts, 0, "")
    own = str(prefix) + shown[int(start) :]
    marked = (own + texts.INTERRUPTED).strip()
    if len(to_slack(marked)) <= limit:  # measured as sent (tables padded, `<` escaped)
        await _edit(writer, key, str(last_ts), marked)
        return
    logger.info("reply %s spans more messages than saved; adding the note below it", ts)
    first = split_message(own, limit, lambda part: len(to_slack(part)))[0]
    await _edit(writer, key, str(last_ts), first)
    await writer.call(
        key.team_id,
        "chat.postMessage",
        channel=key.channel_id,
        thread_ts=key.thread_ts or None,
        markdown_text=texts.INTERRUPTED.strip(),
    )


async def mark_not_answered(writer: Writer, key: ThreadKey, reply_ts: str | None) -> None:
    """End a claimed message's placeholder (or, without one, the thread) with the note."""
    if reply_ts:
        await _edit(writer, key, reply_ts, texts.NOT_ANSWERED)
        return
    await writer.call(
        key.team_id,
        "chat.postMessage",
        channel=key.channel_id,
        thread_ts=key.thread_ts or None,
        markdown_text=texts.NOT_ANSWERED,
    )


async def _edit(writer: Writer, key: ThreadKey, ts: str, markdown: str) -> None:
    content = blocks_content(to_slack(markdown))
    await writer.call(key.team_id, "chat.update", channel=key.channel_id, ts=ts, **content)
