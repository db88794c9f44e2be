"""Slack's side of a process: one HTTP session, the Web API client, the writer and its budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from bot.files.download import TokenFor
from bot.settings import Settings
from bot.slack.budget import EditBudget
from bot.slack.budget_redis import SharedEditBudget
from bot.slack.retry import retry_handlers
from bot.slack.sessions import AgentSessions
from bot.slack.writer import SlackWriter
from bot.slack_app.oauth import InstalledTokens, TeamTokenClient, oauth_settings
from bot.turns.locks import RedisThreadLocks
from bot.wiring.builders import edit_limits


@dataclass
class SlackSide:
    """Own the Web API client and session, the writer, the edit budget and Redis."""

    session: aiohttp.ClientSession
    client: AsyncWebClient
    writer: SlackWriter
    budget: EditBudget
    token_for: TokenFor  # the bot token of a workspace (file downloads)
    oauth: AsyncOAuthSettings | None = None
    tokens: InstalledTokens | None = None  # OAuth installs' tokens
    redis: Any = None  # aioredis.Redis, when replicas share state
    locks: RedisThreadLocks | None = None  # the thread order across replicas
    sessions: AgentSessions | None = None  # agent sessions or assistant threads, per workspace

    @classmethod
    def open(cls, s: Settings, engine: AsyncEngine, clock: Clock) -> SlackSide:
        """Build the client (one token, or OAuth installs), the writer and the budget."""
        oauth = oauth_settings(s, engine) if s.oauth else None
        # One pooled HTTP session for every Web API call: without it slack_sdk opens a new
        # session and TCP connection per call (the bench profile showed it).
        session = aiohttp.ClientSession()
        client: AsyncWebClient

        async def bot_token(team_id: str) -> str | None:
            return s.slack_bot_token or None

        token_for: TokenFor = bot_token
        tokens: InstalledTokens | None = None
        if oauth is not None:
            tokens = InstalledTokens(oauth.installation_store)
            token_for = tokens.bot_token
            client = TeamTokenClient(
                tokens=tokens,
                base_url=s.slack_api_url,
                session=session,
                retry_handlers=retry_handlers(),
            )
        else:
            client = AsyncWebClient(
                token=s.slack_bot_token,
                base_url=s.slack_api_url,
                session=session,
                retry_handlers=retry_handlers(),
            )
        writer = SlackWriter(client, clock=clock)
        # One edit budget per process: every reply in a workspace shares its Slack rate limits.
        limits = edit_limits(s)
        redis = aioredis.from_url(s.redis_url) if s.redis_url else None
        locks = None
        budget: EditBudget
        if redis is not None:  # replicas share the budget and the thread order
            budget = SharedEditBudget(
                limits,
                redis=redis,
                prefix=s.redis_key_prefix,
                clock=clock,
                paused_for=writer.paused_for,
            )
            locks = RedisThreadLocks(redis, s.redis_key_prefix)
        else:
            budget = EditBudget(limits, clock=clock, paused_for=writer.paused_for)
        sessions = AgentSessions(writer, mode=s.agent_sessions, clock=clock)
        return cls(
            session, client, writer, budget, token_for, oauth, tokens, redis, locks, sessions
        )

    async def close(self) -> None:
        """Close the budget, the HTTP session and Redis."""
        await self.budget.close()
        await self.session.close()
        if self.redis is not None:
            await self.redis.aclose()
