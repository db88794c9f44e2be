"""Build every part of the bot from Settings, start it, and stop it cleanly.

Each part in `bot.wiring` starts and stops one concern: the tools, the database, Slack's
side (client, writer, edit budget, Redis), the model's side, and what is served. `Runtime`
starts them in order, wires the app from them, and stops them in reverse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, SystemClock, wall_now
from bot.db.privacy import Privacy
from bot.db.replicas import ReplicaRegistry
from bot.files.reader import FileReader
from bot.ops import retention
from bot.settings import Settings
from bot.slack.budget import EditBudget
from bot.slack_app.access import AccessLists
from bot.slack_app.app import BotApp, create_app
from bot.slack_app.config_access import ConfigPolicy
from bot.telemetry.metrics import Metrics
from bot.tools.mcp.supervisor import McpSupervisor
from bot.turns.channel_settings import ChannelSettings
from bot.turns.chat_history import DisplayNames
from bot.turns.dispatcher import Dispatcher
from bot.turns.resume import resume_round, stranded_rounds
from bot.turns.stop_relay import StopRelay
from bot.usage.build import usage_tracker
from bot.usage.summary import UsageSummary
from bot.wiring.builders import approvals, turn_config
from bot.wiring.database import Database
from bot.wiring.model import ModelSide
from bot.wiring.serving import Serving
from bot.wiring.slack import SlackSide
from bot.wiring.tools import Tools

logger = logging.getLogger(__name__)


class Runtime:
    """Own the parts of one bot process: start them in order, stop them in reverse."""

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
        self.tools: Tools | None = None
        self.database: Database | None = None
        self.slack: SlackSide | None = None
        self.model: ModelSide | None = None
        self.serving = Serving(settings)
        self._background: set[asyncio.Task[None]] = set()  # purge, heartbeat: cancelled at stop

    async def start(self, *, serve: bool = True) -> BotApp:
        """Migrate, build, recover unfinished replies and start serving."""
        s = self.settings
        self.tools = tools = Tools.load(s)  # first: a bad TOOL_MODULES fails before anything
        self.database = db = await Database.open(s)
        self.slack = slack = SlackSide.open(s, db.engine, self.clock)
        self.metrics = Metrics(tool_names=tools.registry)  # the registry: MCP tools come and go
        await tools.start(self.metrics)
        self.metrics.watch_counter(
            "slackbot_slack_rate_limited",
            "Slack answers 429 to a write",
            lambda: slack.writer.rate_limited,
        )
        self.model = ModelSide.open(s, slack)
        self.bot = self._app(db, slack, self.model, tools)
        db.resume = self.bot.resume  # left replies are resumed as turns of this app
        db.after_recover = self._resume_stranded
        await db.replicas.beat()
        await db.recover(slack.writer, startup=True, sessions=slack.sessions)
        self._spawn(db.watch_replicas(slack.writer, slack.sessions))
        self._spawn(self.stop_relay.listen())
        if s.retention_days:
            self._spawn(
                retention.purge_forever(
                    Privacy(db.engine), s.retention_days, s.purge_interval, self.metrics
                )
            )
        if serve:
            await self.serving.serve(self.bot, self.metrics)
        self.bot.ready = True
        return self.bot

    def _app(self, db: Database, slack: SlackSide, model: ModelSide, tools: Tools) -> BotApp:
        """Wire the dispatcher and the Bolt app from the parts."""
        s = self.settings
        config_policy = ConfigPolicy.from_settings(s)
        channels = ChannelSettings(
            db.store,
            default_prompt=s.system_prompt,
            clock=self.clock,
            allowed_models=config_policy.allowed_models,
        )
        self.usage = usage = usage_tracker(s, db.engine, self.metrics, now=self.wall)
        dispatcher = Dispatcher(
            store=db.store,
            model=model.model,
            writer=slack.writer,
            client=slack.client,
            config=turn_config(s),
            tools=tools.registry,
            clock=self.clock,
            metrics=self.metrics,
            budget=slack.budget,
            locks=slack.locks,
            channels=channels,
            usage=usage,
            files=model.files,
            names=DisplayNames(slack.client),
            approvals=approvals(s, db.engine, slack.writer, self.metrics, db.replicas),
            sessions=slack.sessions,
        )
        self.stop_relay = StopRelay(
            dispatcher, slack.writer, redis=slack.redis, prefix=s.redis_key_prefix
        )
        return create_app(
            client=slack.client,
            signing_secret=s.slack_signing_secret,
            dispatcher=dispatcher,
            store=db.store,
            verify_requests=not s.socket_mode,
            metrics=self.metrics,
            oauth=slack.oauth,
            channels=channels,
            mcp_servers=tools.mcp.names,
            config_command_name=s.config_command,
            default_model=s.openai_model,
            usage=usage,
            usage_command_name=s.usage_command,
            usage_summary=UsageSummary(usage),
            dm_threads=s.dm_threads,
            config_policy=config_policy,
            # Behind its token on the events port only when it has no port of its own.
            metrics_token=s.metrics_token if s.metrics_port is None else None,
            access_lists=AccessLists.from_settings(s),
            forget_tokens=slack.tokens.forget if slack.tokens is not None else None,
            step_deadline=s.workflow_step_deadline,
            step_answer_chars=s.workflow_answer_chars,
            stop_relay=self.stop_relay,
        )

    async def _resume_stranded(self, startup: bool) -> None:
        """Go on with answers that waited for approval in a process now gone."""
        if self.bot is None or self.database is None:
            return
        dispatcher = self.bot.dispatcher
        replicas = self.database.replicas
        for message_id in await stranded_rounds(dispatcher, replicas, startup=startup):
            self.bot.spawn(resume_round(dispatcher, message_id), f"turn-resume-{message_id}")

    def _spawn(self, job: Any) -> None:
        task = asyncio.create_task(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking events, finish or interrupt turns in flight, release everything."""
        grace = self.settings.shutdown_grace if grace is None else grace
        if self.bot is not None:
            self.bot.accepting = False
            await self.serving.disconnect()
            budget = self.slack.budget if self.slack is not None else None
            await self.bot.drain(grace, before_interrupt=budget.close if budget else None)
        await self.serving.stop()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for part in (self.tools, self.model, self.slack, self.database):
            if part is not None:
                await part.close()

    # What tests and the bench reach for, by the names they had before the parts.
    @property
    def port(self) -> int | None:
        """Return the events port (HTTP mode) or the /healthz port (Socket Mode)."""
        return self.serving.port

    @property
    def metrics_port(self) -> int | None:
        """Return METRICS_PORT once listening."""
        return self.serving.metrics_port

    @property
    def mcp(self) -> McpSupervisor:
        """Return the MCP servers (none before start)."""
        return self.tools.mcp if self.tools is not None else McpSupervisor(())

    @property
    def engine(self) -> AsyncEngine:
        """Return the database engine (after start)."""
        assert self.database is not None
        return self.database.engine

    @property
    def replicas(self) -> ReplicaRegistry:
        """Return this replica's registry (after start)."""
        assert self.database is not None
        return self.database.replicas

    @property
    def client(self) -> AsyncWebClient:
        """Return the Slack Web API client (after start)."""
        assert self.slack is not None
        return self.slack.client

    @property
    def budget(self) -> EditBudget:
        """Return the edit budget (after start)."""
        assert self.slack is not None
        return self.slack.budget

    @property
    def files(self) -> FileReader | None:
        """Return the reader of files in questions, when on."""
        return self.model.files if self.model is not None else None
