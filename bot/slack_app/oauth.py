"""Many workspaces: the OAuth install flow and the bot token of each installed workspace.

With `SLACK_CLIENT_ID`/`SLACK_CLIENT_SECRET` set, workspaces install the app at
`/slack/install`; slack_sdk's SQLAlchemy stores keep installations and OAuth states in the
bot's database. Web API calls made for a turn use the token of the turn's workspace: the
client reads the workspace from the turn scope (`bot.telemetry.scope`), so the writer, the thread
import and the tools need no token plumbing.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings
from bot.slack_app.installs import InstallationStore, TokenCipher
from bot.telemetry import scope

logger = logging.getLogger(__name__)

AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"
STATE_TTL = 600


class StateStore(AsyncSQLAlchemyOAuthStateStore):
    """slack_sdk's OAuth state store that deletes expired states whenever it issues one.

    Every visit to /slack/install stores a state; an install that is never finished left
    its row behind forever. Purging on issue keeps the table at about the number of
    installs started within STATE_TTL (indexed on `expire_at`, migration 0005).
    """

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        now = normalize_datetime_for_db(datetime.now(UTC))  # as slack_sdk writes expire_at
        async with self.engine.begin() as conn:
            await conn.execute(
                self.oauth_states.delete().where(self.oauth_states.c.expire_at < now)
            )
        return await super().async_issue(*args, **kwargs)


def oauth_settings(
    settings: Settings, engine: AsyncEngine, *, authorization_url: str = AUTHORIZE_URL
) -> AsyncOAuthSettings:
    """Build Bolt's OAuth settings over slack_sdk's SQLAlchemy stores on the bot's database."""
    assert settings.slack_client_id and settings.slack_client_secret
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=[s.strip() for s in settings.slack_scopes.split(",") if s.strip()],
        redirect_uri=settings.slack_redirect_uri,
        install_page_rendering_enabled=False,  # /slack/install redirects straight to Slack
        authorization_url=authorization_url,
        installation_store=InstallationStore(
            client_id=settings.slack_client_id,
            engine=engine,
            cipher=TokenCipher(settings.token_encryption_key)
            if settings.token_encryption_key
            else None,
        ),
        installation_store_bot_only=True,
        state_store=StateStore(expiration_seconds=STATE_TTL, engine=engine),
        state_expiration_seconds=STATE_TTL,
    )


class InstalledTokens:
    """Find (and briefly cache) the bot token of an installed workspace."""

    def __init__(self, store: Any, *, ttl: float = 60.0) -> None:
        self.store = store
        self.ttl = ttl
        self._cache: dict[str, tuple[float, str | None]] = {}

    async def bot_token(self, team_id: str) -> str | None:
        """Return the newest bot token installed for `team_id`, None when not installed."""
        cached = self._cache.get(team_id)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        bot = await self.store.async_find_bot(enterprise_id=None, team_id=team_id)
        token = bot.bot_token if bot is not None else None
        if token is None:
            logger.warning("no installation found for workspace %s", team_id)
        self._cache[team_id] = (time.monotonic(), token)
        return token

    def forget(self, team_id: str | None) -> None:
        """Drop a workspace's cached token (it was uninstalled or revoked)."""
        self._cache.pop(team_id or "", None)


class TeamTokenClient(AsyncWebClient):
    """An AsyncWebClient that signs each call with the current turn's workspace token."""

    def __init__(self, *, tokens: InstalledTokens, **kwargs: Any) -> None:
        super().__init__(token=None, **kwargs)
        self.tokens = tokens

    async def api_call(  # type: ignore[override]
        self, api_method: str, *, headers: dict | None = None, auth: dict | None = None, **kw: Any
    ) -> AsyncSlackResponse:
        """Add the workspace's bot token unless the call brings its own credentials."""
        explicit = auth is not None or any(
            isinstance(kw.get(part), dict) and "token" in kw[part]
            for part in ("json", "params", "data")
        )
        current = scope.current()
        if not explicit and current is not None and current.team_id:
            token = await self.tokens.bot_token(current.team_id)
            if token:
                headers = {**(headers or {}), "Authorization": f"Bearer {token}"}
        return await super().api_call(api_method, headers=headers, auth=auth, **kw)
