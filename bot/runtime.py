"""Build every part of the bot from Settings, start it, and stop it cleanly."""

from __future__ import annotations

import logging
from typing import Any

import openai
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages as texts
from bot.app import BotApp, create_app
from bot.clock import Clock, SystemClock
from bot.conversation import Conversation, TurnConfig
from bot.db.engine import create_engine
from bot.db.migrate import upgrade_async
from bot.db.store import Store
from bot.llm.client import ChatModel, StreamPolicy
from bot.settings import Settings
from bot.slack.writer import SlackWriter
from bot.tools.registry import ToolRegistry

logger = logging.getLogger(__name__)


class Runtime:
    """Own the clients, the database engine and the server of one bot process."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.bot: BotApp | None = None
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._socket_handler: Any = None

    async def start(self, *, serve: bool = True) -> BotApp:
        """Migrate, build, recover unfinished replies and start serving."""
        s = self.settings
        await upgrade_async(s.database_url)
        self.engine = create_engine(s.database_url)
        store = Store(self.engine)
        self.client = AsyncWebClient(token=s.slack_bot_token, base_url=s.slack_api_url)
        self.openai = openai.AsyncOpenAI(
            api_key=s.openai_api_key,
            base_url=s.openai_base_url,
            max_retries=s.openai_max_retries,
            timeout=s.openai_timeout,
        )
        writer = SlackWriter(self.client, clock=self.clock)
        model = ChatModel(
            client=self.openai,
            model=s.openai_model,
            policy=StreamPolicy(
                idle_timeout=s.stream_idle_timeout, max_retries=s.stream_max_retries
            ),
            max_tokens=s.max_output_tokens,
        )
        conversation = Conversation(
            store=store,
            model=model,
            writer=writer,
            client=self.client,
            config=TurnConfig(
                system_prompt=s.system_prompt,
                update_interval=s.slack_update_interval,
                message_limit=s.slack_message_max_chars,
                history_budget=s.history_token_budget,
                turn_deadline=s.turn_deadline,
            ),
            tools=ToolRegistry(),
            clock=self.clock,
        )
        self.bot = create_app(
            client=self.client,
            signing_secret=s.slack_signing_secret,
            conversation=conversation,
            store=store,
            verify_requests=not s.socket_mode,
        )
        await self._recover(store, writer)
        if serve:
            await self._serve()
        self.bot.ready = True
        return self.bot

    async def _recover(self, store: Store, writer: SlackWriter) -> None:
        """Mark replies a crashed process left streaming as interrupted, in Slack and the DB."""
        for reply in await store.unfinished_replies():
            logger.warning("reply %s was left unfinished; marking it interrupted", reply.slack_ts)
            if reply.slack_ts:
                try:
                    await writer.call(
                        reply.key.team_id,
                        "chat.update",
                        channel=reply.key.channel_id,
                        ts=reply.slack_ts,
                        markdown_text=(reply.content + texts.INTERRUPTED).strip(),
                    )
                except Exception:
                    logger.exception("could not mark reply %s in Slack", reply.slack_ts)
            await store.set_reply(reply.id, status="interrupted")

    async def _serve(self) -> None:
        assert self.bot is not None
        s = self.settings
        if s.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket_handler = AsyncSocketModeHandler(self.bot.bolt, s.slack_app_token)
            await self._socket_handler.connect_async()
            logger.info("connected over Socket Mode")
            return
        self._runner = web.AppRunner(self.bot.web, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, s.host, s.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else s.port
        logger.info("serving Slack events on http://%s:%s/slack/events", s.host, self.port)

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking events, finish or interrupt turns in flight, release everything."""
        grace = self.settings.shutdown_grace if grace is None else grace
        if self.bot is not None:
            self.bot.accepting = False
            if self._socket_handler is not None:
                await self._socket_handler.close_async()
            await self.bot.drain(grace)
        if self._runner is not None:
            await self._runner.cleanup()
        if self.bot is not None:
            await self.openai.close()
            await self.engine.dispose()
