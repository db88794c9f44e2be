"""Build the Bolt app and the aiohttp routes around it; no I/O happens here."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import listeners
from bot.conversation import Conversation, TurnRequest
from bot.db.store import Store

logger = logging.getLogger(__name__)


@dataclass
class BotApp:
    """The running pieces: Bolt, its HTTP routes and the turns in flight."""

    bolt: AsyncApp
    web: web.Application
    conversation: Conversation
    store: Store
    accepting: bool = True
    ready: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def submit(self, request: TurnRequest) -> None:
        """Start a turn in the background so that the event is acknowledged at once."""
        if not self.accepting:
            logger.info("shutting down; not starting a turn for %s", request.message_ts)
            return
        task = asyncio.create_task(self._guarded(request), name=f"turn-{request.message_ts}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _guarded(self, request: TurnRequest) -> None:
        try:
            await self.conversation.handle(request)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("turn for %s failed", request.message_ts)

    async def drain(self, grace: float) -> None:
        """Stop taking events, let turns finish for `grace` seconds, then interrupt the rest."""
        self.accepting = False
        pending = {t for t in self.tasks if not t.done()}
        if pending:
            logger.info("waiting up to %.0fs for %d turns", grace, len(pending))
            _, still = await asyncio.wait(pending, timeout=grace)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=5)


def create_app(
    *,
    client: AsyncWebClient,
    signing_secret: str | None,
    conversation: Conversation,
    store: Store,
    verify_requests: bool = True,
) -> BotApp:
    """Wire a Bolt `AsyncApp` to the conversation and expose `/slack/events` and `/healthz`."""
    bolt = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=verify_requests,
        process_before_response=False,
        ignoring_self_events_enabled=True,
    )
    bot = BotApp(bolt=bolt, web=web.Application(), conversation=conversation, store=store)

    @bolt.middleware
    async def learn_bot_user(context: Any, next: Any) -> Any:  # noqa: A002 - Bolt's name
        if context.bot_user_id and not conversation.bot_user_id:
            conversation.bot_user_id = context.bot_user_id
        return await next()

    listeners.register(bolt, store=store, submit=bot.submit)

    @bolt.event(re.compile(".*"))
    async def ignore_other_events() -> None:
        """Acknowledge event types the bot does not act on, so Slack does not redeliver."""

    async def slack_events(request: web.Request) -> web.Response:
        if not bot.accepting:
            return web.Response(status=503, text="shutting down")
        try:
            bolt_request = await to_bolt_request(request)
        except ValueError:
            logger.warning("rejected a request whose body is not valid JSON or form data")
            return web.Response(status=400, text="malformed payload")
        body = bolt_request.body
        if not isinstance(body, dict) or not isinstance(body.get("event", {}), dict):
            logger.warning("rejected a request with a malformed payload")
            return web.Response(status=400, text="malformed payload")
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    async def healthz(_: web.Request) -> web.Response:
        if bot.ready and bot.accepting and await store.ping():
            return web.json_response({"ok": True})
        return web.json_response({"ok": False}, status=503)

    bot.web.router.add_post("/slack/events", slack_events)
    bot.web.router.add_get("/healthz", healthz)
    return bot
