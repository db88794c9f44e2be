"""Run a round's tool calls, the ones that change things only once a person approved them.

While a round waits, its turn is suspended: the reply and the thread status say what it
waits for, TURN_DEADLINE does not run (a person may take APPROVAL_TIMEOUT to decide), and
its MAX_CONCURRENT_ANSWERS slot is lent to other answers (it queues for one again after).
The thread's lock stays held: a follow-up in the thread waits for the decision, as it
would for any answer still being written.
A shutdown meanwhile leaves the round as it is (`Suspension.pause`): the approvals stay
pending in the database, and a click after the restart carries the answer on
(`bot.turns.resume`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Any

from bot import texts, texts_tools
from bot.db.approvals import Decision
from bot.db.records import ReplyStatus
from bot.llm.events import ToolCall
from bot.tools.registry import ToolContext, ToolRegistry, ToolResult
from bot.turns.approval import Round, declined

# The turn (bot.turns.turn.Turn, which imports this module): its reply, status, deadline,
# meter, key, request, row and deps are read here.
Turn = Any

logger = logging.getLogger(__name__)


class Suspension:
    """A turn's wait for approval: what it shows, and what a shutdown meanwhile leaves."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self.active = False  # set while waiting; left set when the wait ends by an exception
        self.asked: int | None = None  # the round (its row id) that asked, until it is done

    @asynccontextmanager
    async def waiting(self, names: str) -> AsyncIterator[None]:
        """Show that `names` wait for approval, with TURN_DEADLINE paused meanwhile."""
        turn = self.turn
        turn.reply.update(turn.shown, status=texts_tools.approval_waiting(names))
        turn.status.waiting(names)
        turn.session.waiting(True)  # the agent session shows `suspended` while it waits
        self.active = True
        deadline, remaining = turn._deadline, None
        loop = asyncio.get_running_loop()
        if deadline is not None and (when := deadline.when()) is not None:
            remaining = when - loop.time()
            deadline.reschedule(None)
        async with turn.slot.lent() if turn.slot is not None else nullcontext():
            yield
        self.active = False  # not on an exception: `pause` or `withdraw` still needs it
        if turn.handed_over:  # the reply and the session are another replica's now
            return
        if deadline is not None and remaining is not None:
            deadline.reschedule(loop.time() + remaining)
        turn.reply.update(turn.shown, status=texts.tool_status(names))
        turn.status.running(names)
        turn.session.waiting(False)

    async def pause(self) -> None:
        """Leave the reply waiting at a shutdown; the approvals stay pending in the database."""
        turn = self.turn
        logger.info("reply %s paused while waiting for approval", turn.reply.ts)
        try:
            await turn.status.close()
            await turn.reply.finish(turn.shown + texts_tools.APPROVAL_PAUSED)
        except Exception:
            logger.exception("could not show the paused reply")
        turn.observed.finish("suspended")
        await turn._record_usage(ReplyStatus.INTERRUPTED)  # the tokens so far were spent

    async def done(self) -> None:
        """Note that the round that asked has its results stored (no sweep carries it on)."""
        approvals, asked = self.turn.deps.approvals, self.asked
        self.asked = None
        if approvals is not None and asked is not None:
            await approvals.finish(asked)

    async def withdraw(self) -> None:
        """Expire the requests of an answer that ended (stopped, failed) before its round's
        results were stored; the round is done either way."""
        approvals, asked = self.turn.deps.approvals, self.asked
        if asked is None or approvals is None:
            return
        self.active, self.asked = False, None
        try:
            await approvals.withdraw(asked)
        except Exception:
            logger.exception("could not withdraw the approval requests of %s", asked)


async def run_calls(
    turn: Turn,
    offered: ToolRegistry,
    calls: tuple[ToolCall, ...],
    ctx: ToolContext,
) -> list[ToolResult] | None:
    """Run `calls`; those needing approval only if approved, the rest get a declined result.

    None: another replica runs them (this one looked gone while it waited); run nothing.
    """
    approvals = turn.deps.approvals
    asking = [c for c in calls if not c.problem and offered.needs_approval(c.name)]
    decisions: dict[str, Decision] = {}
    if asking and approvals is not None:
        where = Round(
            message_id=turn.row_id,
            team_id=turn.key.team_id,
            channel_id=turn.key.channel_id,
            thread_ts=turn.key.thread_ts,
            question_ts=turn.request.message_ts,
            reply_ts=turn.reply.ts,
            asker=turn.request.user_id,
        )
        shown = ", ".join(f"`{name}`" for name in dict.fromkeys(c.name for c in asking))
        turn.suspension.asked = where.message_id
        async with turn.suspension.waiting(shown):
            decisions = await approvals.settle(where, asking)
            # Still suspended (nothing more shown) until it is settled who runs the calls.
            turn.handed_over = turn.claimed_round != where.message_id and not (
                await approvals.store.run_once(where.team_id, where.channel_id, where.message_id)
            )
        if turn.handed_over:  # this replica looked gone; another one carries the round on
            logger.warning("round %s is carried on by another replica", where.message_id)
            turn.suspension.asked = None  # its approvals are the other replica's to finish
            turn.reply.stopped.set()
            return None
        for decision in decisions.values():
            key = str(decision)
            turn.meter.approvals[key] = turn.meter.approvals.get(key, 0) + 1
    elif asking:  # no approval machinery (a console turn): nothing that changes things runs
        decisions = {c.id: Decision.DENIED for c in asking}

    waited = {c.id for c in asking}

    def approved(call: ToolCall) -> bool:
        # A call that waited runs only on a stored Approve: one whose approval is gone (its
        # round deleted meanwhile) counts as not approved in time.
        return call.id not in waited or decisions.get(call.id) == Decision.APPROVED

    ran = iter(await offered.run_all(tuple(c for c in calls if approved(c)), ctx))
    return [
        next(ran)
        if approved(c)
        else ToolResult(declined(decisions.get(c.id, Decision.EXPIRED)), ok=False)
        for c in calls
    ]
