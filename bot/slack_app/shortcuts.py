"""Message shortcuts: Summarize thread and Translate (Ask about this message: `ask.py`).

Each answers privately in the asker's DM with the bot (`bot.slack_app.private`), after the
same checks as `read_slack_message` (`bot.slack_app.source`). The callback ids are the ones
`app_manifest.yml` declares.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import texts
from bot.db.records import ThreadKey
from bot.db.store import Store
from bot.slack.reply.format import from_slack
from bot.slack_app import ask, share
from bot.slack_app.private import PrivateAnswers, Source
from bot.slack_app.source import SourceGuard, transcript
from bot.telemetry.scope import turn_scope

logger = logging.getLogger(__name__)

SUMMARIZE = "summarize_thread"
TRANSLATE = "translate_message"
ASK = ask.ASK
ASK_MODAL = ask.ASK_MODAL
CALLBACK_IDS = (SUMMARIZE, TRANSLATE, ASK)

# What the model is asked (the asker sees the answer, not these instructions).
SUMMARIZE_PROMPT = (
    "Summarize this Slack thread for me: the main points, decisions and open questions, as a "
    "few short bullet points. Refer to people as they are written (<@U…>).{more}\n\n"
    "The thread:\n\n{thread}"
)
MORE_NOTE = " Only the first part of a long thread is given; say so."
TRANSLATE_PROMPT = (
    "Translate this Slack message into the language of the locale `{locale}`. Answer with the "
    "translation only, keeping its formatting, mentions and links. If it already is in that "
    "language, say so in one short sentence.\n\nThe message:\n\n{text}"
)


def register(
    app: AsyncApp,
    *,
    store: Store,
    private: PrivateAnswers,
) -> None:
    """Attach the three message shortcuts (and the question modal)."""

    guard = SourceGuard(store, private)
    ask.register(app, guard=guard, private=private)

    @app.shortcut(SUMMARIZE)
    async def summarize(ack: Any, body: dict[str, Any], client: Any, context: Any) -> None:
        await ack()
        source = Source.from_payload(body)
        with turn_scope(source.team_id, source.channel_id):
            if not await guard.admitted(source, client):
                return
            thread = await guard.thread(source, client, context.bot_user_id or "")
            if thread is None:
                return
            messages, more = thread
            if not messages:
                await private.tell(source, texts.SOURCE_EMPTY)
                return
            prompt = SUMMARIZE_PROMPT.format(
                more=MORE_NOTE if more else "", thread=transcript(messages)
            )

            async def offer(dm: str, summary_ts: str) -> None:
                if not await share.finished_answer(
                    store, ThreadKey(source.team_id, dm, summary_ts)
                ):
                    return  # failed or stopped: nothing to share
                blocks = share.offer_blocks(source.channel_id, source.thread_ts, summary_ts)
                await private.writer.call(
                    source.team_id,
                    "chat.postMessage",
                    channel=dm,
                    thread_ts=summary_ts,
                    text=texts.POST_SUMMARY_OFFER,
                    blocks=blocks,
                )

            await private.answer(
                source,
                header=texts.shortcut_header("summarize", source.permalink, source.channel_id),
                prompt=prompt,
                bot_user_id=context.bot_user_id or "",
                then=offer,
            )

    @app.shortcut(TRANSLATE)
    async def translate(ack: Any, body: dict[str, Any], client: Any, context: Any) -> None:
        await ack()
        source = Source.from_payload(body)
        text = from_slack(str((body.get("message") or {}).get("text") or "")).strip()
        with turn_scope(source.team_id, source.channel_id):
            if not await guard.admitted(source, client):
                return
            if not text:
                await private.tell(source, texts.SOURCE_EMPTY)
                return
            locale = "en-US"
            try:
                user = (await client.users_info(user=source.user_id, include_locale=True))["user"]
                locale = str(user.get("locale") or locale)
            except Exception as exc:  # noqa: BLE001 - English is a fair default
                logger.info("no locale for %s (%s)", source.user_id, type(exc).__name__)
            await private.answer(
                source,
                header=texts.shortcut_header("translate", source.permalink, source.channel_id),
                prompt=TRANSLATE_PROMPT.format(locale=locale, text=text),
                bot_user_id=context.bot_user_id or "",
            )
