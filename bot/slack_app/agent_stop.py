"""`agent_session_stopped`: Slack's own Stop on an agent session stops that thread's answer.

It stops the answer exactly like the Stop button (text kept, marked stopped, usage
recorded), on whichever replica streams it (`bot.turns.stop_relay`). Slack has already
stopped the streams it lists in `streaming_message_ts`; the answer's next append learns it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.slack_app.interactions import is_admin
from bot.turns.stop_relay import StopRelay, StopRequest

logger = logging.getLogger(__name__)


def register(app: AsyncApp, *, relay: StopRelay) -> None:
    """Attach the `agent_session_stopped` listener to `app`."""

    @app.event("agent_session_stopped")
    async def session_stopped(body: dict[str, Any], event: dict[str, Any], client: Any) -> None:
        user_id = str(event.get("user") or "")
        request = StopRequest(
            team_id=str(body.get("team_id") or event.get("team") or ""),
            channel=str(event.get("channel") or ""),
            thread_ts=str(event.get("thread_ts") or ""),
            user_id=user_id,
            streams=tuple(str(ts) for ts in event.get("streaming_message_ts") or ()),
        )
        if not request.channel or not request.thread_ts:
            logger.warning("ignored an agent_session_stopped without channel or thread")
            return
        here = relay.running_here(request)
        # The admin check (users.info) only when the asker is not the one stopping, or
        # when another replica decides.
        if not here or any(live.request.user_id != user_id for live in here):
            request = replace(request, admin=await is_admin(client, user_id))
        await relay.stop(request)
