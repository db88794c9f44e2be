"""Build every part of the bot from Settings, start it, and stop it cleanly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiohttp
import openai
import redis.asyncio as aioredis
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock, SystemClock, wall_now
from bot.db.engine import create_engine
from bot.db.migrate import upgrade_async
from bot.db.privacy import Privacy
from bot.db.replicas import ReplicaRegistry, default_replica_id
from bot.db.store import Store
from bot.files.download import SlackFiles, TokenFor
from bot.files.reader import FileReader
from bot.files.workers import Extractors
from bot.llm.client import ChatModel, StreamPolicy, openai_client
from bot.ops import retention
from bot.settings import Settings
from bot.slack.budget import EditBudget, Limit
from bot.slack.budget_redis import SharedEditBudget
from bot.slack.reply.choose import ReplyStyle, budget_limits
from bot.slack.retry import retry_handlers
from bot.slack.writer import SlackWriter
from bot.slack_app.access import AccessLists, Gate
from bot.slack_app.app import BotApp, create_app
from bot.slack_app.config_access import ConfigPolicy
from bot.slack_app.oauth import InstalledTokens, TeamTokenClient, oauth_settings
from bot.telemetry.endpoints import health_app, metrics_app, metrics_handler
from bot.telemetry.metrics import Metrics
from bot.tools.loading import build_registry
from bot.tools.mcp import config as mcp_config
from bot.tools.mcp.metrics import McpCollector
from bot.tools.mcp.supervisor import McpSupervisor
from bot.turns.channel_settings import ChannelSettings
from bot.turns.chat_history import DisplayNames
from bot.turns.dispatcher import Dispatcher
from bot.turns.locks import RedisThreadLocks
from bot.turns.recovery import recover
from bot.turns.request import TurnConfig
from bot.usage.build import usage_tracker
from bot.usage.summary import UsageSummary

logger = logging.getLogger(__name__)


def chat_model(s: Settings, client: openai.AsyncOpenAI) -> ChatModel:
    """Build the streaming model client from Settings (the bot and the console share it)."""
    return ChatModel(
        client=client,
        model=s.openai_model,
        policy=StreamPolicy(idle_timeout=s.stream_idle_timeout, max_retries=s.stream_max_retries),
        max_tokens=s.max_output_tokens,
        reasoning_effort=s.reasoning_effort.strip(),
    )


def edit_limits(s: Settings) -> dict[str, Limit]:
    """Return the edit budget's limits from Settings (the bot and the console share them)."""
    return budget_limits(
        s.edit_budget_per_minute,
        s.edit_budget_burst,
        s.append_budget_per_minute,
        s.append_budget_burst,
    )


def turn_config(s: Settings) -> TurnConfig:
    """Map Settings onto the knobs of a turn (the bot and the console share it)."""
    return TurnConfig(
        system_prompt=s.system_prompt,
        reply=ReplyStyle(
            mode=s.stream_mode,
            update_interval=s.slack_update_interval,
            native_interval=s.native_flush_interval,
            limit=s.slack_message_max_chars,
        ),
        history_budget=s.history_token_budget,
        turn_deadline=s.turn_deadline,
        max_concurrent=s.max_concurrent_answers,
        max_tool_rounds=s.max_tool_rounds,
        reply_buttons=s.reply_buttons,
        usage_footer=s.usage_footer,
    )


def file_reader(s: Settings, fetcher: Any) -> FileReader | None:
    """Build the reader of files in questions (the bot and the console share it)."""
    if s.files_max_per_question <= 0:
        return None
    return FileReader(
        fetcher=fetcher,
        extractors=Extractors(s.file_workers),
        max_bytes=s.file_max_bytes,
        max_files=s.files_max_per_question,
        vision=s.vision,
    )


def heartbeat_pool(url: str) -> dict[str, Any]:
    """Return pool arguments for the heartbeat engine: one connection, never shared."""
    if url.startswith("sqlite"):
        return {}  # a file: every connection is local and cheap
    return {"pool_size": 1, "max_overflow": 1}


class Runtime:
    """Own the clients, the database engine and the server of one bot process."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        wall: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.wall = wall or wall_now  # days and months of the usage limits
        self.bot: BotApp | None = None
        self.mcp = McpSupervisor(())  # the MCP servers, once started
        self.port: int | None = None  # events (HTTP mode) or /healthz only (Socket Mode)
        self.metrics_port: int | None = None  # METRICS_PORT, once listening
        self._runners: list[web.AppRunner] = []
        self._socket_handler: Any = None
        self._background: set[asyncio.Task[None]] = set()  # purge, heartbeat: cancelled at stop
        self.files: FileReader | None = None

    async def start(self, *, serve: bool = True) -> BotApp:
        """Migrate, build, recover unfinished replies and start serving."""
        s = self.settings
        tools = build_registry(  # first: a bad TOOL_MODULES fails before anything starts
            modules=s.tool_modules,
            builtins=s.builtin_tools,
            timeout=s.tool_timeout,
            result_limit=s.history_token_budget * 3 // 2,  # about half the history budget
            max_calls=s.max_tool_calls_per_round,
        )
        self.mcp = McpSupervisor(
            mcp_config.load(s.mcp_servers), start_wait=s.mcp_start_wait, images=s.tool_images
        )
        await upgrade_async(s.database_url)
        self.engine = create_engine(s.database_url)
        replica_id = s.replica_id or default_replica_id(s.port)
        store = Store(self.engine, owner=replica_id)
        # Heartbeats get a connection of their own: turns that exhaust the pool must not
        # make this replica look dead to the others (which would take its replies over).
        self.heartbeat_engine = create_engine(s.database_url, **heartbeat_pool(s.database_url))
        self.replicas = ReplicaRegistry(
            self.heartbeat_engine, replica_id, stale_after=s.replica_stale_after
        )
        oauth = oauth_settings(s, self.engine) if s.oauth else None
        self.client: AsyncWebClient
        # One pooled HTTP session for every Web API call: without it slack_sdk opens a new
        # session and TCP connection per call (the bench profile showed it).
        self._slack_session = aiohttp.ClientSession()
        token_for: TokenFor = self._bot_token
        tokens: InstalledTokens | None = None
        if oauth is not None:
            tokens = InstalledTokens(oauth.installation_store)
            token_for = tokens.bot_token
            self.client = TeamTokenClient(
                tokens=tokens,
                base_url=s.slack_api_url,
                session=self._slack_session,
                retry_handlers=retry_handlers(),
            )
        else:
            self.client = AsyncWebClient(
                token=s.slack_bot_token,
                base_url=s.slack_api_url,
                session=self._slack_session,
                retry_handlers=retry_handlers(),
            )
        self.openai = openai_client(
            api_key=s.openai_api_key,
            base_url=s.openai_base_url,
            max_retries=s.openai_max_retries,
            timeout=s.openai_timeout,
        )
        writer = SlackWriter(self.client, clock=self.clock)
        self.writer = writer  # tests tune its backoff
        # One edit budget per process: every reply in a workspace shares its Slack rate limits.
        limits = edit_limits(s)
        self.redis = aioredis.from_url(s.redis_url) if s.redis_url else None
        locks = None
        self.budget: EditBudget
        if self.redis is not None:  # replicas share the budget and the thread order
            self.budget = SharedEditBudget(
                limits,
                redis=self.redis,
                prefix=s.redis_key_prefix,
                clock=self.clock,
                paused_for=writer.paused_for,
            )
            locks = RedisThreadLocks(self.redis, s.redis_key_prefix)
        else:
            self.budget = EditBudget(limits, clock=self.clock, paused_for=writer.paused_for)
        self.metrics = Metrics(tool_names=tools)  # the registry: MCP tools come and go
        await self.mcp.start(tools)  # a server that fails is retried in the background
        self.metrics.registry.register(McpCollector(self.mcp))
        self.metrics.watch_counter(
            "slackbot_slack_rate_limited",
            "Slack answers 429 to a write",
            lambda: writer.rate_limited,
        )
        model = chat_model(s, self.openai)
        self.files = file_reader(
            s,
            SlackFiles(
                client=self.client,
                session=self._slack_session,
                token_for=token_for,
                api_url=s.slack_api_url,
                timeout=s.file_download_timeout,
            ),
        )
        config_policy = ConfigPolicy.from_settings(s)
        channels = ChannelSettings(
            store,
            default_prompt=s.system_prompt,
            clock=self.clock,
            allowed_models=config_policy.allowed_models,
        )
        self.usage = usage = usage_tracker(s, self.engine, self.metrics, now=self.wall)
        dispatcher = Dispatcher(
            store=store,
            model=model,
            writer=writer,
            client=self.client,
            config=turn_config(s),
            tools=tools,
            clock=self.clock,
            metrics=self.metrics,
            budget=self.budget,
            locks=locks,
            channels=channels,
            usage=usage,
            files=self.files,
            names=DisplayNames(self.client),
        )
        self.bot = create_app(
            client=self.client,
            signing_secret=s.slack_signing_secret,
            dispatcher=dispatcher,
            store=store,
            verify_requests=not s.socket_mode,
            metrics=self.metrics,
            gate=self._gate(store, writer),
            oauth=oauth,
            channels=channels,
            mcp_servers=self.mcp.names,
            config_command_name=s.config_command,
            default_model=s.openai_model,
            usage=usage,
            usage_command_name=s.usage_command,
            usage_summary=UsageSummary(usage),
            dm_threads=s.dm_threads,
            config_policy=config_policy,
            # Behind its token on the events port only when it has no port of its own.
            metrics_token=s.metrics_token if s.metrics_port is None else None,
            install_lists=AccessLists.from_settings(s),
            forget_tokens=tokens.forget if tokens is not None else None,
        )
        await self.replicas.beat()
        await self._recover(store, writer, startup=True)
        self._spawn(self._watch_replicas(store, writer))
        if s.retention_days:
            self._spawn(
                retention.purge_forever(
                    Privacy(self.engine), s.retention_days, s.purge_interval, self.metrics
                )
            )
        if serve:
            await self._serve()
        self.bot.ready = True
        return self.bot

    async def _recover(self, store: Store, writer: SlackWriter, *, startup: bool = False) -> None:
        """End replies and claimed messages a crashed process left, in Slack and the DB."""
        limit = self.settings.slack_message_max_chars
        await recover(self.replicas, store, writer, limit=limit, startup=startup)

    async def _watch_replicas(self, store: Store, writer: SlackWriter) -> None:
        """Beat for this replica and take over replies of replicas that stopped beating."""
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval)
            try:
                await self.replicas.beat()
                await self._recover(store, writer)
            except Exception as exc:  # noqa: BLE001 - the next beat tries again
                logger.warning("replica heartbeat failed (%s)", type(exc).__name__)

    async def _bot_token(self, team_id: str) -> str | None:
        return self.settings.slack_bot_token or None

    def _spawn(self, job: Any) -> None:
        task = asyncio.create_task(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _gate(self, store: Store, writer: SlackWriter) -> Gate | None:
        lists = AccessLists.from_settings(self.settings)
        return None if lists.empty else Gate(lists, store, writer, self.metrics)

    async def _serve(self) -> None:
        assert self.bot is not None
        s = self.settings
        if s.metrics_port is not None:
            app = metrics_app(self.metrics, s.metrics_token)
            self.metrics_port = await self._listen(app, s.metrics_host, s.metrics_port)
            logger.info(
                "serving metrics on http://%s:%s/metrics", s.metrics_host, self.metrics_port
            )
        if s.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket_handler = AsyncSocketModeHandler(self.bot.bolt, s.slack_app_token)
            await self._socket_handler.connect_async()
            logger.info("connected over Socket Mode")
            # No events arrive over HTTP, but a container's HEALTHCHECK still asks /healthz.
            health = health_app(self.bot.healthz)
            if s.metrics_token and s.metrics_port is None:
                health.router.add_get("/metrics", metrics_handler(self.metrics, s.metrics_token))
            self.port = await self._listen(health, s.host, s.port)
            logger.info("serving /healthz on http://%s:%s/healthz", s.host, self.port)
            return
        self.port = await self._listen(self.bot.web, s.host, s.port)
        logger.info("serving Slack events on http://%s:%s/slack/events", s.host, self.port)

    async def _listen(self, app: web.Application, host: str, port: int) -> int:
        """Serve `app` on host:port; return the port it listens on (port 0 picks one)."""
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        return int(sockets[0].getsockname()[1]) if sockets else port

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking events, finish or interrupt turns in flight, release everything."""
        grace = self.settings.shutdown_grace if grace is None else grace
        if self.bot is not None:
            self.bot.accepting = False
            if self._socket_handler is not None:
                await self._socket_handler.close_async()
            await self.bot.drain(grace, before_interrupt=self.budget.close)
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.mcp.stop()  # stdio servers' processes end here
        if self.bot is not None:
            await self.budget.close()
            try:
                await self.replicas.leave()
            except Exception as exc:  # noqa: BLE001 - others notice the silence instead
                logger.warning("could not deregister this replica (%s)", type(exc).__name__)
            await self.openai.close()
            if self.files is not None:
                self.files.extractors.close()
            await self._slack_session.close()
            await self.engine.dispose()
            await self.heartbeat_engine.dispose()
            if self.redis is not None:
                await self.redis.aclose()
