"""The `/llm-usage` slash command: the asker's tokens, and for admins the workspace's."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import texts
from bot.errors import StorageUnavailable
from bot.usage.report import UsageReport
from bot.usage.tracker import UsageTracker

logger = logging.getLogger(__name__)

ANSWER_WITHIN = 2.5  # seconds: the answer rides on the ack, which Slack wants within 3


def register(app: AsyncApp, *, tracker: UsageTracker, command: str) -> None:
    """Attach the slash command to `app`; the answer goes back in the ack, seen only by the asker."""
    report = UsageReport(tracker)

    @app.command(command)
    async def usage(ack: Any, body: dict[str, Any], client: Any) -> None:
        team_id = body.get("team_id", "")
        channel_id = body.get("channel_id", "")
        user_id = body.get("user_id", "")

        async def build() -> str:
            text = await report.for_user(team_id, channel_id, user_id)
            if await tracker.admins(client, team_id, user_id):
                text += "\n\n" + await report.for_admin(team_id)
            return text

        try:
            async with asyncio.timeout(ANSWER_WITHIN):
                text = await build()
        except (StorageUnavailable, TimeoutError):
            text = texts.USAGE_UNAVAILABLE
        except Exception:
            logger.exception("could not build the usage report")
            text = texts.INTERNAL_ERROR
        await ack(text=text, response_type="ephemeral")
