"""Build the Bolt app and the aiohttp routes around it; no I/O happens here."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.web import Request, Response
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from bot.db.privacy import Privacy
from bot.db.records import UnfinishedReply
from bot.db.resumable import Question
from bot.db.store import Store
from bot.slack_app import (
    agent_stop,
    approval_buttons,
    assistant,
    config_modal,
    deletions,
    home,
    interactions,
    listeners,
    share,
    shortcuts,
    uninstall,
    usage_command,
    workflow,
)
from bot.slack_app.access import AccessLists
from bot.slack_app.access_middleware import AccessMiddleware
from bot.slack_app.config_access import ConfigPolicy
from bot.slack_app.installs import InstallFlow
from bot.slack_app.intake import bolt_request as read_bolt_request
from bot.slack_app.intake import verifier_for
from bot.slack_app.private import PrivateAnswers
from bot.telemetry import logs
from bot.telemetry.endpoints import metrics_handler
from bot.telemetry.metrics import Metrics
from bot.telemetry.scope import turn_scope
from bot.turns.channel_settings import ChannelSettings
from bot.turns.dispatcher import Dispatcher
from bot.turns.request import TurnRequest
from bot.turns.stop_relay import StopRelay
from bot.turns.takeover import resume_reply
from bot.usage.tracker import UsageTracker

logger = logging.getLogger(__name__)


@dataclass
class BotApp:
    """The running pieces: Bolt, its HTTP routes and the turns in flight."""

    bolt: AsyncApp
    web: web.Application
    dispatcher: Dispatcher
    store: Store
    accepting: bool = True
    ready: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def submit(
        self,
        request: TurnRequest,
        *,
        then: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Start a turn in the background so that the event is acknowledged at once.

        `then` runs once the turn has ended (a shortcut offers to share its summary). The
        access lists were checked before any listener ran (`bot.slack_app.access_middleware`).
        """
        if not self.accepting:
            # Acknowledged just before the shutdown began: Slack will not send it again.
            logger.info("shutting down; not starting a turn for %s", request.message_ts)
            job = self.dispatcher.decline(request)
        else:
            job = self._guarded(request, then)
        task = asyncio.create_task(job, name=f"turn-{request.message_ts}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def spawn(self, job: Awaitable[Any], name: str) -> None:
        """Run a turn's job that no event started (a resumed answer); drained like turns."""

        async def logged() -> None:
            try:
                await job
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("%s failed", name)

        task = asyncio.create_task(logged(), name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def resume(self, left: UnfinishedReply, question: Question, layout: list[list[Any]]) -> None:
        """Resume a reply a gone process left (crash recovery); drained like any turn."""
        self.spawn(resume_reply(self.dispatcher, left, question, layout), f"resume-{left.slack_ts}")

    async def _guarded(
        self, request: TurnRequest, then: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        try:
            with turn_scope(request.team_id, request.channel):
                logger.info(
                    "turn for message %s: %s", request.message_ts, logs.message_text(request.text)
                )
                await self.dispatcher.handle(request)
                if then is not None:
                    await then()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("turn for %s failed", request.message_ts)

    async def healthz(self, _: Request) -> Response:
        """Answer 200 while this process takes events and reaches its database, else 503."""
        if self.ready and self.accepting and await self.store.ping():
            return web.json_response({"ok": True})
        return web.json_response({"ok": False}, status=503)

    async def drain(
        self, grace: float, *, before_interrupt: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Stop taking events, let turns finish for `grace` seconds, then interrupt the rest.

        `before_interrupt` runs once the grace is over, before any turn is cancelled: the
        edit budget stops pacing there, so final edits waiting for a token land at once
        instead of being cancelled (and the answers later marked interrupted).
        """
        self.accepting = False
        self.dispatcher.admission.closing = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        if self.tasks:
            logger.info("waiting up to %.1fs for %d turns", grace, len(self.tasks))
        # Loop: an event acknowledged just before the stop may still add a (short) task.
        while (pending := {t for t in self.tasks if not t.done()}) and loop.time() < deadline:
            await asyncio.wait(pending, timeout=deadline - loop.time())
        still = {t for t in self.tasks if not t.done()}
        if still and before_interrupt is not None:
            await before_interrupt()
        for task in still:
            task.cancel()
        if still:
            logger.warning("interrupted %d turns still running after the grace", len(still))
            await asyncio.wait(still, timeout=5)


def create_app(
    *,
    client: AsyncWebClient,
    signing_secret: str | None,
    dispatcher: Dispatcher,
    store: Store,
    verify_requests: bool = True,
    metrics: Metrics | None = None,
    oauth: AsyncOAuthSettings | None = None,
    channels: ChannelSettings | None = None,
    mcp_servers: Sequence[str] = (),  # offered per channel in the config modal
    config_command_name: str = "",
    default_model: str = "",
    usage: UsageTracker | None = None,
    usage_command_name: str = "",
    usage_summary: home.UsageSummary | None = None,
    dm_threads: bool = False,
    config_policy: ConfigPolicy | None = None,
    metrics_token: str | None = None,
    access_lists: AccessLists | None = None,  # ALLOW_*/DENY_*; None or empty lets all in
    forget_tokens: Callable[[str | None], None] | None = None,
    step_deadline: float = 60.0,  # WORKFLOW_STEP_DEADLINE
    step_answer_chars: int = 4000,  # WORKFLOW_ANSWER_CHARS
    stop_relay: StopRelay | None = None,  # agent_session_stopped across replicas
) -> BotApp:
    """Wire a Bolt `AsyncApp` to the conversation and expose `/slack/events` and `/healthz`."""
    bolt = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=verify_requests,
        process_before_response=False,
        ignoring_self_events_enabled=True,
        # ALLOW_TEAMS/DENY_TEAMS refuse an install at the callback (bot.slack_app.installs).
        oauth_flow=InstallFlow(settings=oauth, lists=access_lists or AccessLists())
        if oauth is not None
        else None,
    )
    bot = BotApp(bolt=bolt, web=web.Application(), dispatcher=dispatcher, store=store)

    @bolt.middleware
    async def learn_bot_user(context: Any, next: Any) -> Any:  # noqa: A002 - Bolt's name
        if context.bot_user_id and not dispatcher.bot_user_id:
            dispatcher.bot_user_id = context.bot_user_id
        return await next()

    private = PrivateAnswers(dispatcher.writer, client, bot.submit)
    if access_lists is not None and not access_lists.empty:  # before every listener
        AccessMiddleware(
            access_lists,
            store,
            dispatcher.writer,
            private,
            metrics,
            answer_all=channels.answers_every_message if channels is not None else None,
            dm_threads=dm_threads,
            config_command=config_command_name if channels is not None else "",
        ).register(bolt)
    # Bolt tries listeners in order, building each one's arguments, until one matches: the
    # listeners of nearly every event (a mention arrives as `app_mention` and as `message`)
    # come before the rarer ones; the deletions' message subtypes before `message`.
    listeners.register_mentions(bolt, submit=bot.submit)
    deletions.register(bolt, Privacy(store.engine), metrics)
    listeners.register_messages(
        bolt,
        store=store,
        submit=bot.submit,
        answer_all=channels.answers_every_message if channels is not None else None,
        dm_threads=dm_threads,
    )
    if oauth is not None and oauth.installation_store is not None:
        uninstall.register(
            bolt, store=oauth.installation_store, forget=forget_tokens or (lambda team: None)
        )
    else:  # one workspace, one token from the environment: nothing stored to delete
        uninstall.register_single_token(bolt)
    assistant.register(bolt, store=store, submit=bot.submit, sessions=dispatcher.sessions)
    relay = stop_relay or StopRelay(dispatcher, dispatcher.writer)
    interactions.register(bolt, dispatcher=dispatcher, store=store, relay=relay)
    agent_stop.register(bolt, relay=relay)
    approval_buttons.register(bolt, dispatcher=dispatcher, spawn=bot.spawn)
    workflow.register(
        bolt,
        dispatcher=dispatcher,
        spawn=bot.spawn,
        deadline=step_deadline,
        limit=step_answer_chars,
    )
    if channels is not None and config_command_name:
        config_modal.register(
            bolt,
            channels=channels,
            default_model=default_model,
            command=config_command_name,
            policy=config_policy,
            mcp_servers=mcp_servers,
        )
    if usage is not None and usage_command_name:
        usage_command.register(bolt, tracker=usage, command=usage_command_name)
    home.register(
        bolt,
        model=default_model,
        config_command=config_command_name,
        usage_summary=usage_summary,
    )
    shortcuts.register(bolt, store=store, private=private)
    share.register(bolt, store=store, writer=dispatcher.writer, lock=dispatcher.thread_lock)

    @bolt.event(re.compile(".*"))
    async def ignore_other_events() -> None:
        """Acknowledge event types the bot does not act on, so Slack does not redeliver."""

    verifier = verifier_for(signing_secret, verify_requests)

    async def slack_events(request: web.Request) -> web.Response:
        if not bot.accepting:
            return web.Response(status=503, text="shutting down")
        bolt_request = await read_bolt_request(request, verifier)
        if isinstance(bolt_request, web.Response):
            return bolt_request  # not a Slack request: refused with one log line
        body = bolt_request.body
        if not isinstance(body, dict) or not isinstance(body.get("event", {}), dict):
            logger.warning("rejected a request with a malformed payload")
            return web.Response(status=400, text="malformed payload")
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    bot.web.router.add_post("/slack/events", slack_events)
    bot.web.router.add_get("/healthz", bot.healthz)
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
    if metrics is not None and metrics_token:  # never open on the public events port
        bot.web.router.add_get("/metrics", metrics_handler(metrics, metrics_token))
    return bot
