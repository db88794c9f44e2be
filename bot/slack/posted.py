"""Find a message the bot posted, by the identity it carries in its `metadata`.

Every message of a reply is posted with `metadata` naming the reply and the part
(`event_type` REPLY_EVENT, `event_payload` {"reply": id, "part": n}); any other post gets a
one-off identity (POST_EVENT) from the writer. When a post's answer
is lost (a timeout, a dropped connection), the thread is read back with
`conversations.replies(include_all_metadata=true)` to tell a post that landed from one that
did not, instead of posting again and showing the part twice.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from slack_sdk.errors import SlackApiError

REPLY_EVENT = "bot_reply_part"
POST_EVENT = "bot_post"  # any other post: a one-off identity
MAX_PAGES = 5  # a lookup reads at most this many pages of a thread (200 messages each)


def part_metadata(reply_id: str, part: int) -> dict[str, Any]:
    """Return the metadata that names one message of a reply."""
    return {"event_type": REPLY_EVENT, "event_payload": {"reply": reply_id, "part": part}}


def post_metadata() -> dict[str, Any]:
    """Return metadata that names one post (not a reply's part) so it can be looked up."""
    return {"event_type": POST_EVENT, "event_payload": {"id": uuid.uuid4().hex}}


async def thread_messages(
    client: Any,
    channel: str | None,
    thread_ts: str | None,
    *,
    pages: int = MAX_PAGES,
    **params: str,
) -> AsyncIterator[dict[str, Any]]:
    """Yield a thread's messages with their metadata, oldest first, page by page (without
    `thread_ts`: the channel's top-level messages, newest first); `params` narrow the read."""
    query = {"channel": channel, "include_all_metadata": "true", "limit": "200", **params}
    if thread_ts:
        query["ts"] = thread_ts
    method = "conversations.replies" if thread_ts else "conversations.history"
    cursor = ""
    for _ in range(pages):
        page = await client.api_call(
            method, http_verb="GET", params={**query, **({"cursor": cursor} if cursor else {})}
        )
        for message in page.get("messages") or ():
            yield message
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            return


async def find_posted(client: Any, args: dict[str, Any]) -> dict[str, Any] | None:
    """Return {"ok", "channel", "ts"} of the message posted with `args`' metadata, or None."""
    wanted = args["metadata"]
    channel, thread_ts = args.get("channel"), args.get("thread_ts")
    try:  # a channel's history is read one page back: a post lands at its newest end
        async for message in thread_messages(
            client, channel, thread_ts, pages=MAX_PAGES if thread_ts else 1
        ):
            meta = message.get("metadata") or {}
            if meta.get("event_type") == wanted.get("event_type") and meta.get(
                "event_payload"
            ) == wanted.get("event_payload"):
                return {"ok": True, "channel": channel, "ts": message["ts"]}
    except SlackApiError as exc:
        if thread_ts and exc.response.get("error") == "thread_not_found":
            return None  # nothing in that thread: the post did not land
        raise
    return None


async def find_lost_streams(
    client: Any, channel: str, thread_ts: str, *, after: str, text: str
) -> list[str]:
    """Return the ts of streams a `chat.startStream` whose answer was lost left in a thread.

    A stream carries no metadata, so it is told by what it is: a bot message newer than
    `after` (the reply's last message), with no metadata (every post the bot makes has some)
    and showing only the `text` it was opened with.
    """
    return [
        str(m["ts"])
        async for m in thread_messages(client, channel, thread_ts)
        if m.get("bot_id")
        and float(m["ts"]) > float(after)
        and not m.get("metadata")
        and (m.get("text") or "").strip() == text.strip()
    ]
