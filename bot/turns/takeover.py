"""Resume a reply another process left streaming: the same row, the same Slack messages.

The turn is rebuilt from what was stored: the question (`bot.db.resumable`), the text every
earlier round showed, and the current round's last save, which the model is asked to
continue exactly as after a cut stream (`ChatModel.stream(resume=...)`): the saved text as
the assistant's turn plus a short request to go on, with whatever the model repeats of it
dropped. Tool results already stored are part of the thread's history and are not run
again. The reply goes on as `chat.update` edits of its last message, Stop button included,
whatever mode it started in (a native stream of a dead process cannot be appended to).
"""

from __future__ import annotations

import logging
from typing import Any

from bot.db.records import ReplyStatus, UnfinishedReply
from bot.db.resumable import Question
from bot.slack.reply.interrupted import mark_interrupted
from bot.slack.reply.update import ReplyTarget, StreamingReply
from bot.telemetry.scope import turn_scope
from bot.turns.dispatcher import Dispatcher
from bot.turns.request import TurnRequest
from bot.turns.turn import Turn

logger = logging.getLogger(__name__)


async def resume_reply(
    dispatcher: Dispatcher, left: UnfinishedReply, question: Question, layout: list[list[Any]]
) -> None:
    """Go on with `left` (taken over by this replica) until it ends, like any turn."""
    key = left.key
    request = TurnRequest(
        team_id=key.team_id,
        channel=key.channel_id,
        thread_ts=key.thread_ts,
        message_ts=question.message_ts,
        user_id=question.user_id,
        text=question.text,
    )
    config = dispatcher.config
    reply = StreamingReply(
        writer=dispatcher.writer,
        target=ReplyTarget(key.team_id, key.channel_id, key.thread_ts),
        interval=config.reply.update_interval,
        limit=config.reply.limit,
        clock=dispatcher.clock,
        budget=dispatcher.budget,
    )
    if config.reply_buttons:
        reply.offer_stop(question.message_ts)
    live_key = (key.team_id, key.channel_id, question.message_ts)
    with turn_scope(key.team_id, key.channel_id):
        try:
            # Killed while its tools ran: no result was stored, so the calls are dropped and
            # the model, continuing, asks for them again (results stored are never rerun).
            await dispatcher.store.set_reply(left.id, tool_calls=[])
            shown = await dispatcher.store.reply_text(key, left.slack_ts or "")
            settings = await dispatcher.settings_for(request)
        except Exception:
            # Nobody else would ever look at it again (this replica is alive): end it.
            logger.exception("could not resume reply %s; marking it interrupted", left.slack_ts)
            await _give_up(dispatcher, left, layout)
            return
        reply.resume(layout, shown)
        turn = Turn(dispatcher.turn_deps(), request, key, reply, settings, row_id=left.id)
        turn.shown, turn.round_text, turn.resuming = shown, left.content, left.content
        turn.session.begin()  # the dead process left it `processing`: this turn ends it
        dispatcher.live[live_key] = turn
        try:
            await turn.run()
        finally:
            dispatcher.live.pop(live_key, None)


async def _give_up(dispatcher: Dispatcher, left: UnfinishedReply, layout: list[list[Any]]) -> None:
    """End a reply that could not be resumed with its saved text and the interrupted note."""
    try:
        await dispatcher.store.set_reply(left.id, status=ReplyStatus.INTERRUPTED)
        shown = await dispatcher.store.reply_text(left.key, left.slack_ts or "")
        limit = dispatcher.config.reply.limit
        await mark_interrupted(
            dispatcher.writer, left.key, left.slack_ts or "", shown, limit=limit, parts=layout
        )
    except Exception:
        logger.exception("could not mark reply %s interrupted either", left.slack_ts)
