"""Slack's AI-app surfaces: assistant threads (Bolt's AsyncAssistant) and the loading status.

- `assistant_thread_started`: a greeting and suggested prompts.
- A user message in an assistant thread (any DM thread): the thread gets a title from its
  first question, then the message becomes a turn exactly like any other DM.
- The loading status under DMs and assistant threads lives in `bot.slack.reply.status`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_bolt.request.payload_utils import is_other_message_sub_event_in_assistant_thread

from bot import texts
from bot.db.records import ThreadKey
from bot.db.store import Store
from bot.errors import StorageUnavailable
from bot.slack.reply.session import title_from
from bot.slack.sessions import AgentSessions
from bot.slack_app import listeners
from bot.turns.request import TurnRequest

logger = logging.getLogger(__name__)


class _Assistant(AsyncAssistant):
    """Bolt's AsyncAssistant, except that edits and deletions reach the other listeners."""

    async def async_process(self, *, req: Any, resp: Any, next: Any) -> Any:  # noqa: A002
        # Bolt acknowledges message_changed/message_deleted in DM threads and stops there;
        # the retention listener must still see deletions to forget them.
        if is_other_message_sub_event_in_assistant_thread(req.body):
            return await next()
        return await super().async_process(req=req, resp=resp, next=next)


Submit = Callable[[TurnRequest], Awaitable[None]]


def register(
    app: AsyncApp, *, store: Store, submit: Submit, sessions: AgentSessions | None = None
) -> None:
    """Attach Bolt's AsyncAssistant: greeting, suggested prompts, titles; turns as usual.

    A workspace with agent sessions gets its thread titles from the session instead
    (`bot.slack.reply.session`): `assistant.threads.setTitle` is for the older manifest.
    """
    assistant = _Assistant()

    @assistant.thread_started
    async def started(say: Any, set_suggested_prompts: Any) -> None:
        prompts = [{"title": t, "message": m} for t, m in texts.SUGGESTED_PROMPTS]
        for step in (
            lambda: say(texts.ASSISTANT_GREETING),
            lambda: set_suggested_prompts(prompts=prompts, title=texts.SUGGESTED_PROMPTS_TITLE),
        ):
            try:
                await step()
            except Exception as exc:  # noqa: BLE001 - the thread works without them
                logger.warning("could not greet a new assistant thread (%s)", type(exc).__name__)

    @assistant.thread_context_changed
    async def context_changed() -> None:
        """Ignore: the bot does not use the channel the user is looking at."""

    @assistant.user_message
    async def user_message(
        body: dict[str, Any], event: dict[str, Any], context: Any, set_title: Any
    ) -> None:
        team_id = context.team_id or body.get("team_id", "")
        if not await listeners.should_answer(event, context.bot_user_id or "", store, team_id):
            return
        request = listeners.to_request(
            event, team_id, body.get("event_id"), context.bot_user_id or ""
        )
        key = ThreadKey(team_id, request.channel, request.thread_ts)
        # Until a session call lands the workspace may be on the older manifest: title both.
        legacy = sessions is None or not sessions.known_agent(team_id)
        with contextlib.suppress(StorageUnavailable):
            if legacy and not await store.has_thread(key):
                try:
                    await set_title(title_from(request.text, texts.NEW_CONVERSATION))
                except Exception as exc:  # noqa: BLE001 - a title is decoration
                    logger.info("could not set a thread title (%s)", type(exc).__name__)
        await submit(request)

    app.assistant(assistant)
