"""Carry on an answer whose tool round waited for approval in a process that is gone.

The round's row holds the tool calls and no results yet; its approvals hold the decisions
(or are still pending). A click on any replica, or the replicas' sweep once the owner
stopped beating (`stranded_rounds`), takes the row over (one conditional change of owner,
so one process carries it on) and runs a turn that starts with that round's calls: it waits
for the decisions still missing, runs what was approved and streams on into the reply the
round left behind, in its last message.
"""

from __future__ import annotations

import logging

from bot.db.approvals import AskedCall
from bot.db.models import Message
from bot.db.records import ThreadKey
from bot.db.replicas import ReplicaRegistry
from bot.llm.events import ToolCall, ToolCallsReady
from bot.slack.reply.update import ReplyTarget, StreamingReply
from bot.turns.approval import Approvals
from bot.turns.dispatcher import Dispatcher
from bot.turns.recovery import drop_unsaved
from bot.turns.request import TurnRequest
from bot.turns.turn import Turn

logger = logging.getLogger(__name__)


async def resume_round(dispatcher: Dispatcher, message_id: int) -> bool:
    """Carry on the answer of an orphaned round here; False when it is not ours to carry on."""
    approvals = dispatcher.approvals
    if approvals is None or approvals.waiting_here(message_id):
        return False
    # Held before the first await, until the turn is done: a second click or a sweep
    # meanwhile finds the round waiting here and leaves it be.
    approvals.hold(message_id)
    try:
        adopted = await _adopt(dispatcher, approvals, message_id)
        if adopted is None:
            return False
        turn, first = adopted
        live = (first.team_id, first.channel_id, first.question_ts)
        async with dispatcher.thread_lock(turn.key, first.question_ts):
            dispatcher.live[live] = turn
            try:
                await turn.run()
            finally:
                dispatcher.live.pop(live, None)
        return True
    finally:
        approvals.release(message_id)


async def _adopt(
    dispatcher: Dispatcher, approvals: Approvals, message_id: int
) -> tuple[Turn, AskedCall] | None:
    """Take the round's row over and build the turn that carries it on; None: not ours."""
    owner, alive = await approvals.store.owner_of_round(message_id, approvals.stale_after)
    # Until this replica has beaten for a full stale period (after a database outage every
    # heartbeat is old), nobody else counts as gone: the sweep carries the round on later.
    if owner != approvals.store.owner and (alive or not approvals.judging()):
        return None  # its replica is alive and waiting: it sees the decision itself
    asked = await approvals.store.of_round(message_id)
    if not asked:
        return None
    first = asked[0].call
    key = ThreadKey(first.team_id, first.channel_id, first.thread_ts)
    stored = await dispatcher.store.history(key, limit=dispatcher.config.history_rows)
    row = next((m for m in stored if m.id == message_id), None)
    answered = {m.tool_call_id for m in stored if m.role == "tool" and m.id > message_id}
    calls = [
        ToolCall(id=c["id"], name=c["function"]["name"], arguments=c["function"]["arguments"])
        for c in (row.tool_calls or [] if row else [])
    ]
    if row is None or not calls or any(c.id in answered for c in calls):
        await approvals.finish(message_id)  # the round ran (or its answer ended): done
        return None
    # One process runs the decided calls: the one still waiting (if its replica only looked
    # gone) or this one (`ApprovalStore.run_once`); the row then becomes ours.
    if not await approvals.store.run_once(first.team_id, first.channel_id, message_id):
        # A process now gone claimed them (killed while they ran): they are not run again
        # here. The round is no longer waiting: takeover resumes the reply, without them.
        await approvals.finish(message_id)
        return None
    if not await approvals.store.take_round(message_id, owner):
        return None
    logger.info("carrying on the answer of round %s after its approval", message_id)
    request = TurnRequest(
        team_id=first.team_id,
        channel=first.channel_id,
        thread_ts=first.thread_ts,
        message_ts=first.question_ts,
        user_id=first.asker,
        text="",
    )
    shown = ""
    reply = _reply(dispatcher, first.team_id, first.channel_id, first.thread_ts)
    if dispatcher.config.reply_buttons:
        reply.offer_stop(first.question_ts)
    if first.reply_ts:  # goes on in its last message, like a reply taken over
        shown = await dispatcher.store.reply_text(key, first.reply_ts)
        parts = await dispatcher.store.reply_parts(key, first.reply_ts)
        layout = [list(p) for p in parts] if parts else [[first.reply_ts, 0, ""]]
        await drop_unsaved(dispatcher.writer, key, layout)
        reply.resume(layout, shown)
    else:
        await reply.start()
    settings = await dispatcher.settings_for(request)
    turn = Turn(dispatcher.turn_deps(), request, key, reply, settings, row_id=message_id)
    turn.shown = shown
    turn.resumed = ToolCallsReady(calls=tuple(calls))
    turn.claimed_round = message_id
    return turn, first


def _reply(dispatcher: Dispatcher, team_id: str, channel: str, thread_ts: str) -> StreamingReply:
    config = dispatcher.config
    return StreamingReply(
        writer=dispatcher.writer,
        target=ReplyTarget(team_id, channel, thread_ts),
        interval=config.reply.update_interval,
        limit=config.reply.limit,
        clock=dispatcher.clock,
        budget=dispatcher.budget,
    )


async def stranded_rounds(
    dispatcher: Dispatcher, replicas: ReplicaRegistry, *, startup: bool = False
) -> list[int]:
    """Return rounds to carry on whose replica is gone (at startup: ours from before too)."""
    approvals = dispatcher.approvals
    if approvals is None:
        return []
    found = await approvals.store.stranded(replicas.gone(Message.owner, startup=startup))
    return [message_id for message_id in found if not approvals.waiting_here(message_id)]
