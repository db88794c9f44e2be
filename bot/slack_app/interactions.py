"""Buttons on replies: Stop while an answer streams, feedback once it is done.

Stop cancels the turn's model request; the message keeps what was written and says it was
stopped, and the history records the answer as `stopped`. Only the person who asked, or a
workspace admin or owner (users.info), may stop it; anyone else gets an ephemeral note. A
click that reaches a replica not streaming the answer is relayed to the others
(`bot.turns.stop_relay`, with `REDIS_URL`); without Redis it says there is nothing to stop.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from sqlalchemy.exc import IntegrityError

from bot import texts
from bot.db.store import Store
from bot.errors import StorageUnavailable
from bot.slack.reply.markup import FEEDBACK_ACTION, STOP_ACTION, parse_feedback
from bot.turns.dispatcher import Dispatcher
from bot.turns.stop_relay import StopRelay, StopRequest

logger = logging.getLogger(__name__)


async def is_admin(client: Any, user_id: str) -> bool:
    """Tell whether a user is a workspace admin or owner; False when Slack cannot say."""
    try:
        response = await client.users_info(user=user_id)
    except Exception as exc:  # noqa: BLE001 - unknown means "not an admin"
        logger.warning("users.info failed for the stop check (%s)", type(exc).__name__)
        return False
    user = response.get("user") or {}
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


async def tell(client: Any, body: dict[str, Any], text: str) -> None:
    """Show `text` only to the user who clicked, in the thread of the clicked message."""
    message = body.get("message") or {}
    try:
        await client.chat_postEphemeral(
            channel=(body.get("channel") or {}).get("id", ""),
            user=(body.get("user") or {}).get("id", ""),
            thread_ts=message.get("thread_ts") or message.get("ts"),
            text=text,
        )
    except Exception as exc:  # noqa: BLE001 - a courtesy note
        logger.warning("could not post an ephemeral note (%s)", type(exc).__name__)


def register(
    app: AsyncApp, *, dispatcher: Dispatcher, store: Store, relay: StopRelay | None = None
) -> None:
    """Attach the Stop and feedback button handlers to `app`."""

    @app.action(STOP_ACTION)
    async def stop(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        await ack()
        team_id = (body.get("team") or {}).get("id", "")
        channel_id = (body.get("channel") or {}).get("id", "")
        user_id = (body.get("user") or {}).get("id", "")
        live = dispatcher.live_turn(team_id, channel_id, str(action.get("value") or ""))
        if live is None and relay is not None and relay.redis is not None:
            message = body.get("message") or {}
            request = StopRequest(
                team_id=team_id,
                channel=channel_id,
                thread_ts=str(message.get("thread_ts") or ""),
                user_id=user_id,
                streams=(str(message.get("ts") or ""),),
                admin=await is_admin(client, user_id),
            )
            if await relay.stop(request):
                return  # the replica streaming it stops it (or tells the clicker why not)
        if live is None:
            await tell(client, body, texts.STOP_TOO_LATE)
            return
        asker = live.request.user_id
        if user_id != asker and not await is_admin(client, user_id):
            await tell(client, body, texts.STOP_NOT_ALLOWED.format(asker=asker))
            return
        logger.info("reply %s stopped by %s", live.reply.ts, user_id)
        live.stop()

    @app.action(FEEDBACK_ACTION)
    async def feedback(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        await ack()
        parsed = parse_feedback(str(action.get("value") or ""))
        if parsed is None:
            logger.warning("ignored a feedback click with a malformed value")
            return
        rating, message_id = parsed
        try:
            stored = await store.record_feedback(
                message_id,
                team_id=(body.get("team") or {}).get("id", ""),
                channel_id=(body.get("channel") or {}).get("id", ""),
                user_id=(body.get("user") or {}).get("id", ""),
                rating=rating,
            )
        except IntegrityError:
            stored = True  # a double click raced itself; one of them is stored
        except StorageUnavailable as exc:
            await tell(client, body, exc.user_message)
            return
        if stored:
            await tell(client, body, texts.FEEDBACK_THANKS[rating])
