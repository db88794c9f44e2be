"""The "Post in the thread" button under a private summary.

The button's value names the source thread and the DM thread holding the summary; the DM
itself comes from the click's payload, so a click can only ever post a summary from the
clicker's own DM, and only into a conversation they can still read. What the summary's
tools read is checked again with the thread as destination (`share_guard`): content of a
private conversation may be in the DM, never in a thread others read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import texts
from bot.db.records import NewMessage, StoredMessage, ThreadKey
from bot.db.store import Store
from bot.errors import StorageUnavailable
from bot.slack.reply.format import to_slack
from bot.slack.writer import Writer
from bot.slack_app.share_guard import share_refusal
from bot.slack_app.source import SourceRefused, check_access
from bot.telemetry.scope import turn_scope
from bot.tools.registry import ToolContext

logger = logging.getLogger(__name__)

ThreadLock = Callable[[ThreadKey, str], AbstractAsyncContextManager[None]]
POST_ACTION = "post_summary"


def offer_blocks(channel_id: str, thread_ts: str, summary_ts: str) -> list[dict[str, Any]]:
    """Return the blocks offering to post the summary (in `summary_ts`'s thread) in its thread."""
    value = json.dumps({"c": channel_id, "t": thread_ts, "h": summary_ts}, separators=(",", ":"))
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": texts.POST_SUMMARY_OFFER}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": POST_ACTION,
                    "text": {"type": "plain_text", "text": texts.POST_SUMMARY_BUTTON},
                    "style": "primary",
                    "value": value,
                }
            ],
        },
    ]


async def finished_answer(store: Store, key: ThreadKey) -> str:
    """Return the text of the thread's first answer (all its rounds) once complete, else ""."""
    # The thread's first rows: a long private follow-up must not put a later answer first.
    answers = [m for m in await summary_rows(store, key) if m.role == "assistant"]
    if not answers:
        return ""
    rounds = [m for m in answers if m.slack_ts == answers[0].slack_ts]  # one reply, its rounds
    if rounds[-1].status != "complete":
        return ""
    return "\n\n".join(m.content for m in rounds if m.content)


async def summary_rows(store: Store, key: ThreadKey) -> list[StoredMessage]:
    """Return the first rows of the DM thread holding the summary (its rounds and tools)."""
    return await store.history(key, limit=100, first=True)


def register(app: AsyncApp, *, store: Store, writer: Writer, lock: ThreadLock) -> None:
    """Attach the handler of the "Post in the thread" button (`lock`: the thread's turn lock)."""

    @app.action(POST_ACTION)
    async def post(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        await ack()
        team_id = (body.get("team") or {}).get("id", "")
        with turn_scope(team_id, (body.get("channel") or {}).get("id", "")):
            await _post(body, action, client)

    async def _post(body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        team_id = (body.get("team") or {}).get("id", "")
        user_id = (body.get("user") or {}).get("id", "")
        dm = (body.get("channel") or {}).get("id", "")
        offer_ts = (body.get("message") or {}).get("ts", "")
        try:
            where = json.loads(str(action.get("value") or ""))
            channel, thread_ts, summary_ts = str(where["c"]), str(where["t"]), str(where["h"])
        except (ValueError, KeyError, TypeError):
            logger.warning("ignored a post-summary click with a malformed value")
            return

        async def answer(text: str) -> None:
            section = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
            await writer.call(
                team_id, "chat.update", channel=dm, ts=offer_ts, text=text, blocks=[section]
            )

        try:
            summary = await finished_answer(store, ThreadKey(team_id, dm, summary_ts))
            if not summary:
                await answer(texts.POST_SUMMARY_GONE)
                return
            await check_access(client, team_id=team_id, user_id=user_id, channel_id=channel)
            key = ThreadKey(team_id, channel, thread_ts)
            written = {m.user_id for m in await store.history(key, limit=100) if m.user_id}
            place = ToolContext(team_id, channel, thread_ts, user_id, client, frozenset(written))
            rows = await summary_rows(store, ThreadKey(team_id, dm, summary_ts))
            refused = await share_refusal(place, rows, dm)
            if refused is not None:
                await answer(refused)
                return
            once = f"share:{summary_ts}"  # a double click posts once
            if not await store.claim(team_id, dm, once, None):
                return
            try:
                posted = await writer.call(
                    team_id,
                    "chat.postMessage",
                    channel=channel,
                    thread_ts=thread_ts,
                    markdown_text=texts.shared_summary(user_id, to_slack(summary)),
                )
            except Exception:
                await store.release_claim(team_id, dm, once)  # a later click may try again
                raise
            if posted is not None:
                # Under the thread's turn lock: a turn between a tool call and its result
                # would otherwise find this row inside its round and run the tools again.
                # Killed before the append, the thread's history lacks the summary (Slack
                # shows it; follow-ups do not see it); the claim stops a second post.
                async with lock(key, str(posted["ts"])):
                    if await store.has_thread(key):  # follow-ups see it
                        row = NewMessage("assistant", summary, slack_ts=posted["ts"])
                        await store.append(key, [row])
            await answer(texts.POST_SUMMARY_DONE)
        except (SourceRefused, StorageUnavailable) as exc:
            await answer(exc.user_message)
        except Exception:
            logger.exception("could not post a summary in %s", channel)
