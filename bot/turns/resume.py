"""Carry on an answer whose tool round waited for approval in a process that is gone.

The round's row holds the tool calls and no results yet; its approvals hold the decisions
(or are still pending). A click on any replica, or the recovery sweep once the requests
expired, takes the row over (one conditional change of owner, so one process carries it
on) and runs a turn that starts with that round's calls, editing the reply it left behind.
"""

from __future__ import annotations

import logging

from bot import texts_tools
from bot.db.records import ThreadKey
from bot.llm.events import ToolCall, ToolCallsReady
from bot.slack.reply.update import ReplyTarget, StreamingReply
from bot.turns.dispatcher import Dispatcher
from bot.turns.request import TurnRequest
from bot.turns.turn import Turn

logger = logging.getLogger(__name__)


async def resume_round(dispatcher: Dispatcher, message_id: int) -> bool:
    """Carry on the answer of an orphaned round here; False when it is not ours to carry on."""
    approvals = dispatcher.approvals
    if approvals is None or approvals.waiting_here(message_id):
        return False
    owner, alive = await approvals.store.owner_of_round(message_id, approvals.stale_after)
    if alive and owner != approvals.store.owner:
        return False  # its replica is alive and waiting: it sees the decision itself
    asked = await approvals.store.of_round(message_id)
    if not asked:
        return False
    first = asked[0].call
    key = ThreadKey(first.team_id, first.channel_id, first.thread_ts)
    stored = await dispatcher.store.history(key, limit=dispatcher.config.history_rows)
    row = next((m for m in stored if m.id == message_id), None)
    answered = {m.tool_call_id for m in stored if m.role == "tool"}
    calls = [
        ToolCall(id=c["id"], name=c["function"]["name"], arguments=c["function"]["arguments"])
        for c in (row.tool_calls or [] if row else [])
    ]
    if row is None or not calls or any(c.id in answered for c in calls):
        return False  # the round ran (or its answer ended): nothing to carry on
    # Held before the next await and until the turn's own wait holds it: a second click
    # meanwhile only wakes this round.
    approvals.hold(message_id)
    try:
        # One process runs the decided calls: the one still waiting (if its replica only
        # looked gone) or this one (see ApprovalStore.run_once).
        ran = not await approvals.store.run_once(first.team_id, first.channel_id, message_id)
        if ran or not await approvals.store.take_round(message_id, owner):
            approvals.release(message_id)
            return False
        logger.info("carrying on the answer of round %s after its approval", message_id)
        request = TurnRequest(
            team_id=first.team_id,
            channel=first.channel_id,
            thread_ts=first.thread_ts,
            message_ts=first.question_ts,
            user_id=first.asker,
            text="",
        )
        shown = await dispatcher.store.reply_text(key, first.reply_ts) if first.reply_ts else ""
        target = ReplyTarget(first.team_id, first.channel_id, first.thread_ts)
        config = dispatcher.config
        reply = StreamingReply(
            writer=dispatcher.writer,
            target=target,
            interval=config.reply.update_interval,
            limit=config.reply.limit,
            clock=dispatcher.clock,
            budget=dispatcher.budget,
        )
        if config.reply_buttons:
            reply.offer_stop(first.question_ts)
        if first.reply_ts:
            await reply.adopt(first.reply_ts, shown)
        else:
            await reply.start()
        settings = await dispatcher.settings_for(request)
    except BaseException:
        approvals.release(message_id)
        raise
    turn = Turn(dispatcher.turn_deps(), request, key, reply, settings, row_id=message_id)
    turn.shown = shown.removesuffix(texts_tools.APPROVAL_PAUSED)
    turn.resumed = ToolCallsReady(calls=tuple(calls))
    turn.claimed_round = message_id
    live = (first.team_id, first.channel_id, first.question_ts)
    dispatcher.live[live] = turn
    try:
        # In its thread's order, like any answer: a follow-up written meanwhile waits for it.
        async with dispatcher.thread_lock(key, first.question_ts):
            await turn.run()
    finally:
        dispatcher.live.pop(live, None)
        approvals.release(message_id)
    return True


async def stranded_rounds(dispatcher: Dispatcher) -> list[int]:
    """Return rounds whose approval expired while no process waited for it."""
    approvals = dispatcher.approvals
    if approvals is None:
        return []
    found = await approvals.store.stranded(approvals.stale_after)
    return [message_id for message_id in found if not approvals.waiting_here(message_id)]
