"""Mark a reply that a stopped or crashed process left unfinished, in Slack."""

from __future__ import annotations

import logging

from bot import texts
from bot.db.store import ThreadKey
from bot.slack.reply.format import to_slack
from bot.slack.writer import SlackWriter

logger = logging.getLogger(__name__)

# A streaming reply rolls over once its text passes `limit - STATUS_ROOM` (room is kept for
# a status line), so saved text longer than that means the reply spans several messages.
STATUS_ROOM = 200


async def mark_interrupted(
    writer: SlackWriter, key: ThreadKey, ts: str, shown: str, *, limit: int
) -> None:
    """Edit the reply to its last saved text plus the note, or add the note below it.

    Only the first message of a reply is known; when the reply had rolled over into more
    messages, rewriting that first one would garble it, so the note goes at the end of the
    thread instead.
    """
    if len(shown) <= limit - STATUS_ROOM:
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
