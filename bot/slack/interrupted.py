"""Mark a reply that a stopped or crashed process left unfinished, in Slack."""

from __future__ import annotations

import logging

from bot import messages as texts
from bot.db.store import ThreadKey
from bot.slack.writer import SlackWriter

logger = logging.getLogger(__name__)


async def mark_interrupted(
    writer: SlackWriter, key: ThreadKey, ts: str, shown: str, *, limit: int
) -> None:
    """Edit the reply to its last saved text plus the note, or add the note when it won't fit.

    A reply longer than one message was rolled over into several; only its first message
    is known, so the note goes at the end of the thread instead of rewriting that message.
    """
    marked = (shown + texts.INTERRUPTED).strip()
    if len(marked) <= limit:
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
