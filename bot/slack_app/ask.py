"""The "Ask about this message" shortcut: a modal for the question, answered privately.

The shortcut's `trigger_id` lives 3 seconds, so the modal opens first and the checks run when
it is submitted. The modal keeps the message's text in `private_metadata` (cut to fit Slack's
3,000 characters), so the message is context even when the bot cannot fetch it again.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import texts
from bot.slack.reply.format import from_slack
from bot.slack_app.private import PrivateAnswers, Source
from bot.slack_app.source import SourceGuard, SourceMessage, transcript
from bot.telemetry.scope import turn_scope

logger = logging.getLogger(__name__)

ASK = "ask_about_message"
ASK_MODAL = "ask_about_message_modal"
METADATA_LIMIT = 3000  # characters of a view's private_metadata
ASK_PROMPT = "{question}\n\nUse this Slack {what} as context:\n\n{thread}"


def pack(source: Source, message: dict[str, Any]) -> str:
    """Return the modal's private_metadata: where the message is, and as much of its text as fits."""
    fields = {
        "domain": source.team_domain,
        "channel": source.channel_id,
        "ts": source.message_ts,
        "thread": source.thread_ts,
        "author": str(message.get("user") or message.get("bot_id") or ""),
    }
    text = str(message.get("text") or "")
    packed = json.dumps({**fields, "text": text}, ensure_ascii=False)
    while len(packed) > METADATA_LIMIT:  # quotes and newlines take two characters each
        text = text[: len(text) - (len(packed) - METADATA_LIMIT) - 1]
        packed = json.dumps({**fields, "text": text + "…"}, ensure_ascii=False)
    return packed


def unpack(body: dict[str, Any], view: dict[str, Any]) -> tuple[Source, dict[str, Any]]:
    """Return the source of a submitted modal (asker from the payload) and its packed fields."""
    try:
        packed = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        packed = {}
    packed = packed if isinstance(packed, dict) else {}
    source = Source(
        team_id=str((body.get("team") or {}).get("id") or ""),
        team_domain=str(packed.get("domain") or ""),
        channel_id=str(packed.get("channel") or ""),
        message_ts=str(packed.get("ts") or ""),
        thread_ts=str(packed.get("thread") or packed.get("ts") or ""),
        user_id=str((body.get("user") or {}).get("id") or ""),
    )
    return source, packed


def ask_modal(source: Source, message: dict[str, Any]) -> dict[str, Any]:
    """Return the modal asking for a question about the message at `source`."""
    return {
        "type": "modal",
        "callback_id": ASK_MODAL,
        "title": {"type": "plain_text", "text": texts.ASK_MODAL_TITLE},
        "submit": {"type": "plain_text", "text": texts.ASK_MODAL_SUBMIT},
        "private_metadata": pack(source, message),
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


def _escaped(text: str) -> str:
    """Escape what Slack would read as a mention or link in text typed into a modal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _order(message: SourceMessage) -> tuple[int, ...]:
    return tuple(int(part) for part in message.ts.split(".") if part.isdigit())


def register(app: AsyncApp, *, guard: SourceGuard, private: PrivateAnswers) -> None:
    """Attach the shortcut and the submission of its modal."""

    @app.shortcut(ASK)
    async def ask(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        source = Source.from_payload(body)
        try:
            view = ask_modal(source, body.get("message") or {})
            await client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception as exc:  # noqa: BLE001 - the user just sees no modal
            logger.warning("could not open the question modal (%s)", type(exc).__name__)

    @app.view(ASK_MODAL)
    async def asked(
        ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any, context: Any
    ) -> None:
        values = (view.get("state") or {}).get("values") or {}
        question = str(((values.get("question") or {}).get("value") or {}).get("value") or "")
        if not question.strip():
            await ack(response_action="errors", errors={"question": texts.ASK_MODAL_LABEL})
            return
        await ack()
        source, packed = unpack(body, view)
        if not source.channel_id or not source.message_ts:
            logger.warning("a question modal came back without its message")
            return
        with turn_scope(source.team_id, source.channel_id):
            if not await guard.admitted(source, client):
                return
            thread = await guard.thread(source, client, context.bot_user_id or "")
            if thread is None:
                return
            messages, text = thread[0], from_slack(str(packed.get("text") or "")).strip()
            if not any(m.ts == source.message_ts for m in messages):
                if not text:  # not readable, and not in the store's copy of the thread
                    await private.tell(source, texts.SOURCE_EMPTY)
                    return
                asked_about = SourceMessage(source.message_ts, f"<@{packed.get('author')}>", text)
                messages = sorted([*messages, asked_about], key=_order)
            several = len(messages) > 1
            prompt = ASK_PROMPT.format(
                question=question.strip(),
                what="message and its thread" if several else "message",
                thread=transcript(messages, mark_ts=source.message_ts if several else ""),
            )
            quoted = "\n> " + _escaped(question.strip()).replace("\n", "\n> ")
            await private.answer(
                source,
                header=texts.shortcut_header("ask", source.permalink, source.channel_id) + quoted,
                prompt=prompt,
                bot_user_id=context.bot_user_id or "",
            )
