"""Installed workspaces' tokens at rest: encrypted, refused outside ALLOW_TEAMS, deleted on revoke.

- `TOKEN_ENCRYPTION_KEY` (one or more Fernet keys, comma-separated, newest first) encrypts
  every stored token with `cryptography`'s MultiFernet: the first key encrypts, any key
  decrypts, so a new key is put first and the old one kept until `python -m bot
  rotate-tokens` has re-encrypted the rows. Rows written before a key was set are read as
  they are and encrypted when next saved.
- `InstallFlow` refuses, at the OAuth callback, a workspace the access lists refuse
  (ALLOW_TEAMS/DENY_TEAMS), revokes the token Slack just issued, and stores nothing.
- `app_uninstalled` deletes everything stored for the workspace; `tokens_revoked` deletes
  the bot token (in both tables) or the users' installations it names.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_bolt.error import BoltError
from slack_bolt.oauth.async_callback_options import AsyncFailureArgs
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy import and_, update

from bot import texts
from bot.slack_app.access import AccessLists

logger = logging.getLogger(__name__)

PREFIX = "fernet:"  # marks an encrypted value; anything else is a plaintext token
TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


class TokenCipher:
    """Encrypt and decrypt stored tokens with one or more Fernet keys (newest first)."""

    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("TOKEN_ENCRYPTION_KEY holds no key")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])

    def encrypt(self, value: str | None) -> str | None:
        if not value or value.startswith(PREFIX):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str | None) -> str | None:
        if not value or not value.startswith(PREFIX):
            return value
        try:
            return self._fernet.decrypt(value[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            logger.error("a stored token cannot be decrypted with TOKEN_ENCRYPTION_KEY")
            return None

    def rotate(self, value: str | None) -> str | None:
        """Re-encrypt `value` with the newest key (plaintext gets encrypted)."""
        if not value:
            return value
        if not value.startswith(PREFIX):
            return self.encrypt(value)
        return PREFIX + self._fernet.rotate(value[len(PREFIX) :].encode()).decode()


def _with_tokens(entity: Any, convert: Any) -> Any:
    changed = copy.copy(entity)
    for name in TOKEN_FIELDS:
        if hasattr(changed, name):
            setattr(changed, name, convert(getattr(changed, name)))
    return changed


class InstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy store with tokens encrypted at rest and complete deletion."""

    def __init__(self, *, client_id: str, engine: Any, cipher: TokenCipher | None) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self.cipher = cipher

    def _seal(self, entity: Any) -> Any:
        return entity if self.cipher is None else _with_tokens(entity, self.cipher.encrypt)

    def _open(self, entity: Any) -> Any:
        if entity is None or self.cipher is None:
            return entity
        return _with_tokens(entity, self.cipher.decrypt)

    async def async_save(self, installation: Installation) -> None:
        await super().async_save(self._seal(installation))

    async def async_save_bot(self, bot: Bot) -> None:
        await super().async_save_bot(self._seal(bot))

    async def async_find_bot(self, **kw: Any) -> Bot | None:
        return self._open(await super().async_find_bot(**kw))

    async def async_find_installation(self, **kw: Any) -> Installation | None:
        return self._open(await super().async_find_installation(**kw))

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Delete the bot rows and the bot token the installation rows also hold."""
        await super().async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        c = self.installations.c
        async with self.engine.begin() as conn:
            await conn.execute(
                update(self.installations)
                .where(
                    and_(
                        c.client_id == self.client_id,
                        c.enterprise_id == enterprise_id,
                        c.team_id == team_id,
                    )
                )
                .values(bot_token=None, bot_refresh_token=None)
            )


class InstallRefused(BoltError):
    """The access lists refuse the workspace that tried to install the app."""


class InstallFlow(AsyncOAuthFlow):
    """Bolt's OAuth flow, refusing workspaces outside ALLOW_TEAMS (or in DENY_TEAMS)."""

    def __init__(self, *, lists: AccessLists, **kw: Any) -> None:
        super().__init__(**kw)
        self.lists = lists
        self._default_failure = self.failure_handler
        self.failure_handler = self._failure

    def _refused(self, team_id: str) -> bool:
        keys = {team_id}
        return bool(keys & self.lists.deny_teams) or bool(
            self.lists.allow_teams and not keys & self.lists.allow_teams
        )

    async def store_installation(self, request: Any, installation: Installation) -> None:
        team = installation.team_id or installation.enterprise_id or ""
        if self._refused(team):
            logger.warning("refused an install by workspace %s (ALLOW_TEAMS/DENY_TEAMS)", team)
            if installation.bot_token:
                try:  # Slack issued a token already: give it back
                    await self.client.auth_revoke(token=installation.bot_token)
                except Exception as exc:  # noqa: BLE001 - nothing is stored either way
                    logger.warning("could not revoke the refused install's token (%s)", exc)
            raise InstallRefused(f"workspace {team} is not allowed")
        await super().store_installation(request, installation)

    async def _failure(self, args: AsyncFailureArgs) -> BoltResponse:
        if isinstance(args.error, InstallRefused):
            return BoltResponse(
                status=403,
                body=texts.INSTALL_REFUSED,
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
        return await self._default_failure(args)
