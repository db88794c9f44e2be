"""Build the Bolt app and the aiohttp routes around it; no I/O happens here."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from bot.db.privacy import Privacy
from bot.db.store import Store
from bot.slack_app import assistant, config_modal, deletions, interactions, listeners
from bot.slack_app.access import Gate
from bot.telemetry import logs
from bot.telemetry.metrics import CONTENT_TYPE, Metrics
from bot.telemetry.scope import turn_scope
from bot.turns.channel_settings import ChannelSettings
from bot.turns.dispatcher import Conversation, TurnRequest

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
    gate: Gate | None = None  # the access lists; None lets everyone in
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def submit(self, request: TurnRequest) -> None:
        """Start a turn in the background so that the event is acknowledged at once."""
        if self.gate is not None and not self.gate.admit(request):
            return
        if not self.accepting:
            # Acknowledged just before the shutdown began: Slack will not send it again.
            logger.info("shutting down; not starting a turn for %s", request.message_ts)
            job = self.conversation.decline(request)
        else:
            job = self._guarded(request)
        task = asyncio.create_task(job, name=f"turn-{request.message_ts}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _guarded(self, request: TurnRequest) -> None:
        try:
            with turn_scope(request.team_id, request.channel):
                logger.info(
                    "turn for message %s: %s", request.message_ts, logs.message_text(request.text)
                )
                await self.conversation.handle(request)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("turn for %s failed", request.message_ts)

    async def drain(self, grace: float) -> None:
        """Stop taking events, let turns finish for `grace` seconds, then interrupt the rest."""
        self.accepting = False
        self.conversation.closing = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        if self.tasks:
            logger.info("waiting up to %.1fs for %d turns", grace, len(self.tasks))
        # Loop: an event acknowledged just before the stop may still add a (short) task.
        while (pending := {t for t in self.tasks if not t.done()}) and loop.time() < deadline:
            await asyncio.wait(pending, timeout=deadline - loop.time())
        still = {t for t in self.tasks if not t.done()}
        for task in still:
            task.cancel()
        if still:
            logger.warning("interrupted %d turns still running after the grace", len(still))
            await asyncio.wait(still, timeout=5)


def create_app(
    *,
    client: AsyncWebClient,
    signing_secret: str | None,
    conversation: Conversation,
    store: Store,
    verify_requests: bool = True,
    metrics: Metrics | None = None,
    gate: Gate | None = None,
    oauth: AsyncOAuthSettings | None = None,
    channels: ChannelSettings | None = None,
    mcp_servers: Sequence[str] = (),  # offered per channel in the config modal
    config_command_name: str = "",
    default_model: str = "",
) -> BotApp:
    """Wire a Bolt `AsyncApp` to the conversation and expose `/slack/events` and `/healthz`."""
    bolt = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=verify_requests,
        process_before_response=False,
        ignoring_self_events_enabled=True,
        oauth_settings=oauth,
    )
    bot = BotApp(
        bolt=bolt, web=web.Application(), conversation=conversation, store=store, gate=gate
    )

    @bolt.middleware
    async def learn_bot_user(context: Any, next: Any) -> Any:  # noqa: A002 - Bolt's name
        if context.bot_user_id and not conversation.bot_user_id:
            conversation.bot_user_id = context.bot_user_id
        return await next()

    deletions.register(bolt, Privacy(store.engine), metrics)  # before the message listener
    assistant.register(bolt, store=store, submit=bot.submit)
    interactions.register(bolt, conversation=conversation, store=store)
    if channels is not None and config_command_name:
        config_modal.register(
            bolt,
            channels=channels,
            default_model=default_model,
            command=config_command_name,
            mcp_servers=mcp_servers,
        )
    listeners.register(
        bolt,
        store=store,
        submit=bot.submit,
        answer_all=channels.answers_every_message if channels is not None else None,
    )

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
    if oauth is not None:
        flow = bolt.oauth_flow
        assert flow is not None

        async def install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await flow.handle_installation(await to_bolt_request(request))
            )

        async def oauth_redirect(request: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await flow.handle_callback(await to_bolt_request(request))
            )

        bot.web.router.add_get(oauth.install_path, install)
        bot.web.router.add_get(oauth.redirect_uri_path, oauth_redirect)
    if metrics is not None:

        async def metrics_page(_: web.Request) -> web.Response:
            return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

        bot.web.router.add_get("/metrics", metrics_page)
    return bot
