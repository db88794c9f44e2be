"""Mark a reply that a stopped or crashed process left unfinished, in Slack."""

from __future__ import annotations

import logging

from bot import texts
from bot.db.store import ThreadKey
from bot.slack.reply.format import to_slack
from bot.slack.reply.split import ROLLOVER_MARGIN
from bot.slack.writer import Writer

logger = logging.getLogger(__name__)


async def mark_interrupted(
    writer: Writer, key: ThreadKey, ts: str, shown: str, *, limit: int
) -> None:
    """Edit the reply to its last saved text plus the note, or add the note below it.

    Only the first message of a reply is known; when the reply had rolled over into more
    messages, rewriting that first one would garble it, so the note goes at the end of the
    thread instead.
    """
    if len(shown) <= limit - ROLLOVER_MARGIN:
        marked = to_slack((shown + texts.INTERRUPTED).strip())  # as a live reply is formatted
        await writer.call(
            key.team_id, "chat.update", channel=key.channel_id, ts=ts, markdown_text=marked
        )
        return
    logger.info("reply %s spans several messages; adding the note below it", ts)
    await writer.call(
        key.team_id,
        "chat.postMessage",
        channel=key.channel_id,
        thread_ts=key.thread_ts or None,
        markdown_text=texts.INTERRUPTED.strip(),
    )
