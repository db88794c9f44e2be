"""Forget a workspace's tokens when Slack says they are gone (`app_uninstalled`, `tokens_revoked`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

logger = logging.getLogger(__name__)


def register(
    app: AsyncApp,
    *,
    store: AsyncInstallationStore,
    forget: Callable[[str | None], None] = lambda team: None,
) -> None:
    """Delete what the events name from `store` (register before any catch-all listener)."""

    @app.event("app_uninstalled")
    async def uninstalled(context: Any) -> None:
        team, enterprise = context.team_id, context.enterprise_id
        await store.async_delete_all(enterprise_id=enterprise, team_id=team)
        forget(team)
        logger.info("app uninstalled from %s: its installation and tokens are deleted", team)

    @app.event("tokens_revoked")
    async def revoked(event: dict[str, Any], context: Any) -> None:
        team, enterprise = context.team_id, context.enterprise_id
        tokens = event.get("tokens") or {}
        for user_id in tokens.get("oauth") or []:
            await store.async_delete_installation(
                enterprise_id=enterprise, team_id=team, user_id=user_id
            )
        if tokens.get("bot"):
            await store.async_delete_bot(enterprise_id=enterprise, team_id=team)
        forget(team)
        logger.info("tokens revoked in %s: deleted what the event named", team)


def register_single_token(app: AsyncApp) -> None:
    """Acknowledge uninstalls with SLACK_BOT_TOKEN: no tokens are stored, the operator is told."""

    @app.event("app_uninstalled")
    async def uninstalled(body: dict[str, Any]) -> None:
        logger.warning(
            "the app was uninstalled from %s; SLACK_BOT_TOKEN no longer works", body.get("team_id")
        )

    @app.event("tokens_revoked")
    async def revoked(body: dict[str, Any]) -> None:
        logger.warning(
            "tokens were revoked in %s; SLACK_BOT_TOKEN may no longer work", body.get("team_id")
        )
