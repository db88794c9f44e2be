"""Message shortcuts: Summarize thread, Translate, Ask about this message.

Each answers privately in the asker's DM with the bot (`bot.slack_app.private`), after the
same checks as `read_slack_message` (`bot.slack_app.source`). The callback ids are the ones
`app_manifest.yml` declares.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import texts
from bot.db.store import Store, ThreadKey
from bot.slack.reply.format import from_slack
from bot.slack_app import share
from bot.slack_app.private import PrivateAnswers, Source
from bot.slack_app.source import (
    SourceMessage,
    SourceRefused,
    check_access,
    read_thread,
    transcript,
)
from bot.telemetry.scope import turn_scope

logger = logging.getLogger(__name__)

SUMMARIZE = "summarize_thread"
TRANSLATE = "translate_message"
ASK = "ask_about_message"
ASK_MODAL = "ask_about_message_modal"
CALLBACK_IDS = (SUMMARIZE, TRANSLATE, ASK)
METADATA_TEXT = 2000  # characters of the message kept in the modal's private_metadata

Refuses = Callable[[str, str, str], str | None]  # (team, channel, user) -> refusing list or None

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
ASK_PROMPT = "{question}\n\nUse this Slack {what} as context:\n\n{thread}"


def ask_modal(source: Source, message: dict[str, Any]) -> dict[str, Any]:
    """Return the modal asking for a question about the message at `source`."""
    return {
        "type": "modal",
        "callback_id": ASK_MODAL,
        "title": {"type": "plain_text", "text": texts.ASK_MODAL_TITLE},
        "submit": {"type": "plain_text", "text": texts.ASK_MODAL_SUBMIT},
        "private_metadata": json.dumps(_pack(source, message)),
        "blocks": [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": texts.ASK_MODAL_INTRO}]},
            {
                "type": "input",
                "block_id": "question",
                "label": {"type": "plain_text", "text": texts.ASK_MODAL_LABEL},
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True},
            },
        ],
    }


def _pack(source: Source, message: dict[str, Any]) -> dict[str, str]:
    """Keep what the submission needs; the text is cut so the metadata stays within 3,000."""
    text = str(message.get("text") or "")
    return {
        "team": source.team_id,
        "domain": source.team_domain,
        "channel": source.channel_id,
        "ts": source.message_ts,
        "thread": source.thread_ts,
        "author": str(message.get("user") or message.get("bot_id") or ""),
        "text": text if len(text) <= METADATA_TEXT else text[:METADATA_TEXT] + "…",
    }


def _escaped(text: str) -> str:
    """Escape what Slack would read as a mention or link in text the user typed in a modal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def register(
    app: AsyncApp,
    *,
    store: Store,
    private: PrivateAnswers,
    refuses: Refuses | None = None,
) -> None:
    """Attach the three message shortcuts and the question modal."""

    async def checked(source: Source, client: Any) -> bool:
        """Tell whether the asker may have this source read; if not, say why, privately."""
        try:
            if refuses is not None and refuses(source.team_id, source.channel_id, source.user_id):
                raise SourceRefused(texts.ACCESS_DENIED)
            await check_access(
                client, team_id=source.team_id, user_id=source.user_id, channel_id=source.channel_id
            )
        except SourceRefused as exc:
            logger.info("shortcut on %s refused (%s)", source.channel_id, exc)
            await private.tell(source, exc.user_message)
            return False
        return True

    async def thread_of(
        source: Source, client: Any, bot_user_id: str
    ) -> tuple[list[SourceMessage], bool] | None:
        """Return the source's thread, or None after telling the asker why it cannot be read."""
        try:
            return await read_thread(
                client,
                store,
                team_id=source.team_id,
                channel_id=source.channel_id,
                thread_ts=source.thread_ts,
                bot_user_id=bot_user_id,
            )
        except SourceRefused as exc:
            await private.tell(source, exc.user_message)
            return None

    @app.shortcut(SUMMARIZE)
    async def summarize(ack: Any, body: dict[str, Any], client: Any, context: Any) -> None:
        await ack()
        source = Source.from_payload(body)
        with turn_scope(source.team_id, source.channel_id):
            if not await checked(source, client):
                return
            thread = await thread_of(source, client, context.bot_user_id or "")
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
            if not await checked(source, client):
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

    @app.shortcut(ASK)
    async def ask(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()  # the trigger_id lives 3 seconds: open the modal first, check on submit
        source = Source.from_payload(body)
        try:
            await client.views_open(
                trigger_id=body["trigger_id"], view=ask_modal(source, body.get("message") or {})
            )
        except Exception as exc:  # noqa: BLE001 - the user just sees no modal
            logger.warning("could not open the question modal (%s)", type(exc).__name__)

    @app.view(ASK_MODAL)
    async def asked(
        ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any, context: Any
    ) -> None:
        values = (view.get("state") or {}).get("values") or {}
        question = str(
            ((values.get("question") or {}).get("value") or {}).get("value") or ""
        ).strip()
        if not question:
            await ack(response_action="errors", errors={"question": texts.ASK_MODAL_LABEL})
            return
        await ack()
        try:
            packed = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            packed = {}
        source = Source(
            team_id=str((body.get("team") or {}).get("id") or packed.get("team") or ""),
            team_domain=str(packed.get("domain") or ""),
            channel_id=str(packed.get("channel") or ""),
            message_ts=str(packed.get("ts") or ""),
            thread_ts=str(packed.get("thread") or packed.get("ts") or ""),
            user_id=str((body.get("user") or {}).get("id") or ""),
        )
        if not source.channel_id or not source.message_ts:
            logger.warning("a question modal came back without its message")
            return
        with turn_scope(source.team_id, source.channel_id):
            if not await checked(source, client):
                return
            thread = await thread_of(source, client, context.bot_user_id or "")
            if thread is None:
                return
            messages, text = thread[0], from_slack(str(packed.get("text") or "")).strip()
            if not any(m.ts == source.message_ts for m in messages):
                if not text:  # not readable, and not in the store's copy of the thread
                    await private.tell(source, texts.SOURCE_EMPTY)
                    return
                author = f"<@{packed.get('author') or 'unknown'}>"
                messages = sorted(
                    [*messages, SourceMessage(source.message_ts, author, text)],
                    key=lambda m: tuple(int(p) for p in m.ts.split(".") if p.isdigit()),
                )
            what = "message and its thread" if len(messages) > 1 else "message"
            prompt = ASK_PROMPT.format(
                question=question,
                what=what,
                thread=transcript(messages, mark_ts=source.message_ts if len(messages) > 1 else ""),
            )
            await private.answer(
                source,
                header=texts.shortcut_header("ask", source.permalink, source.channel_id)
                + "\n> "
                + _escaped(question).replace("\n", "\n> "),
                prompt=prompt,
                bot_user_id=context.bot_user_id or "",
            )
