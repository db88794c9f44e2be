"""Approve and Deny on a tool call that waits for a person.

Only the person who asked, or a user in APPROVERS, may decide; anyone else gets an
ephemeral note. The decision is one conditional UPDATE, so a second click (a double
click, or one on another replica) changes nothing and is told so. The round is woken where
it waits; when its process is gone, this one carries the answer on (`bot.turns.resume`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import texts_tools
from bot.db.approvals import Decision
from bot.errors import StorageUnavailable
from bot.slack_app.interactions import tell
from bot.turns.approval import APPROVE_ACTION, DENY_ACTION
from bot.turns.dispatcher import Dispatcher
from bot.turns.resume import resume_round

logger = logging.getLogger(__name__)

Spawn = Callable[[Awaitable[Any], str], None]  # runs a job as a tracked turn task


def register(app: AsyncApp, *, dispatcher: Dispatcher, spawn: Spawn) -> None:
    """Attach the Approve and Deny handlers to `app`."""
    approvals = dispatcher.approvals
    if approvals is None:
        return

    async def clicked(body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        decision = (
            Decision.APPROVED if action.get("action_id") == APPROVE_ACTION else Decision.DENIED
        )
        user_id = (body.get("user") or {}).get("id", "")
        try:
            approval = await approvals.store.get(int(str(action.get("value") or "0")))
        except ValueError:
            approval = None
        except StorageUnavailable as exc:
            await tell(client, body, exc.user_message)
            return
        if approval is None:
            await tell(client, body, texts_tools.APPROVAL_GONE)
            return
        if not approvals.may_decide(user_id, approval.call.asker):
            logger.info("user %s may not decide on tool call %s", user_id, approval.call.call_id)
            await tell(
                client, body, texts_tools.APPROVAL_NOT_ALLOWED.format(asker=approval.call.asker)
            )
            return
        # Past APPROVAL_TIMEOUT the request is expired, whether or not a process has marked
        # it yet (its replica restarted, the sweep has not come by): the click is too late.
        late = approval.status == Decision.PENDING and approval.expires_at <= approvals.store.wall()
        try:
            if late:
                counted = await approvals.decide(approval, Decision.EXPIRED, None)
            else:
                counted = await approvals.decide(approval, decision, user_id)
        except StorageUnavailable as exc:
            await tell(client, body, exc.user_message)
            return
        if late and counted:
            await tell(client, body, texts_tools.APPROVAL_ALREADY.format(decision=Decision.EXPIRED))
        elif not counted:
            now = await approvals.store.get(approval.id)
            said = str(now.status) if now is not None else "unknown"
            await tell(client, body, texts_tools.APPROVAL_ALREADY.format(decision=said))
            return
        message_id = approval.call.message_id
        if not approvals.waiting_here(message_id):
            spawn(resume_round(dispatcher, message_id), f"turn-resume-{message_id}")

    @app.action(APPROVE_ACTION)
    async def approve(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        await ack()
        await clicked(body, action, client)

    @app.action(DENY_ACTION)
    async def deny(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        await ack()
        await clicked(body, action, client)
