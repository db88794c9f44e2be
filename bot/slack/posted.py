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


async def find_posted(client: Any, args: dict[str, Any]) -> dict[str, Any] | None:
    """Return {"ok", "channel", "ts"} of the message posted with `args`' metadata, or None."""
    wanted = args["metadata"]
    channel, thread_ts = args.get("channel"), args.get("thread_ts")
    cursor = None
    for _ in range(MAX_PAGES):
        query: dict[str, Any] = {"channel": channel, "include_all_metadata": "true", "limit": "200"}
        if cursor:
            query["cursor"] = cursor
        if thread_ts:
            try:
                page = await client.api_call(
                    "conversations.replies", http_verb="GET", params={**query, "ts": thread_ts}
                )
            except SlackApiError as exc:
                if exc.response.get("error") == "thread_not_found":
                    return None  # nothing in that thread: the post did not land
                raise
        else:
            page = await client.api_call("conversations.history", http_verb="GET", params=query)
        for message in page.get("messages") or ():
            meta = message.get("metadata") or {}
            if meta.get("event_type") == wanted.get("event_type") and meta.get(
                "event_payload"
            ) == wanted.get("event_payload"):
                return {"ok": True, "channel": channel, "ts": message["ts"]}
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor or thread_ts is None:
            return None
    return None


async def find_lost_streams(
    client: Any, channel: str, thread_ts: str, *, after: str, text: str
) -> list[str]:
    """Return the ts of streams a `chat.startStream` whose answer was lost left in a thread.

    A stream carries no metadata, so it is told by what it is: a bot message newer than
    `after` (the reply's last message), with no metadata (every post the bot makes has some)
    and showing only the `text` it was opened with.
    """
    found: list[str] = []
    cursor = None
    for _ in range(MAX_PAGES):
        query = {
            "channel": channel,
            "ts": thread_ts,
            "include_all_metadata": "true",
            "limit": "200",
        }
        page = await client.api_call(
            "conversations.replies",
            http_verb="GET",
            params={**query, **({"cursor": cursor} if cursor else {})},
        )
        found += [
            str(m["ts"])
            for m in page.get("messages") or ()
            if m.get("bot_id")
            and float(m["ts"]) > float(after)
            and not m.get("metadata")
            and (m.get("text") or "").strip() == text.strip()
        ]
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return found
