"""Thread import: the first time the bot joins a thread, its earlier messages are stored."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.db.records import NewMessage, StoredFile, ThreadKey
from bot.db.store import Store
from bot.files.reader import Reading
from bot.slack.reply.format import from_slack
from bot.turns.request import TurnRequest

logger = logging.getLogger(__name__)


async def import_thread(
    client: AsyncWebClient,
    store: Store,
    request: TurnRequest,
    key: ThreadKey,
    *,
    bot_user_id: str,
    own_ts: str | None = None,
    reading: Reading | None = None,
) -> None:
    """Give the model a thread's earlier messages the first time the bot joins it.

    `own_ts` is this reply's placeholder, already in the thread: not an earlier message.
    """
    try:
        response = await client.conversations_replies(
            channel=request.channel, ts=request.thread_ts, limit=50
        )
    except (SlackApiError, OSError, TimeoutError) as exc:
        logger.warning("could not read thread history (%s); answering without it", exc)
        return
    earlier = []
    for message in response.get("messages") or []:
        ts = message.get("ts")
        if not ts or ts in (request.message_ts, own_ts):
            continue
        if message.get("subtype") not in (None, "file_share", "thread_broadcast"):
            continue
        # Only the bot's own words are the assistant's; other apps' messages are user
        # turns, labelled with the app's name when the history is built (chat_history).
        mine = message.get("user") == bot_user_id
        content = from_slack(message.get("text") or "").strip()
        files: tuple[StoredFile, ...] = ()
        if reading is not None and not mine and message.get("files"):
            files = await reading.read(message["files"])
        if not content and not files:
            continue
        earlier.append(
            NewMessage(
                "assistant" if mine else "user",
                content,
                user_id=message.get("user"),
                slack_ts=ts,
                files=files,
            )
        )
    if earlier:
        await store.append(key, earlier)
