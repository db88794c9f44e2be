"""Finish what a crashed or stopped process left behind: replies still streaming, claims.

A reply row left `streaming` by a replica that is gone is taken by one conditional change
of owner (so exactly one replica handles it), then, in this order:
- Slack already shows it final (the process died after the final edit, before the final
  save landed): the row is marked complete and the message is left as it is;
- it can be resumed (a `resume` is wired, the question is known, it began less than
  `max_age` ago): it goes on in the same messages, from its last save (`bot.turns.takeover`);
- otherwise its last saved text gets the interrupted note, on the last message it spans;
- a Workflow Builder step's answer (no Slack message) fails its step with "the bot
  restarted", as a shutdown does, so the workflow does not wait for it in vain.
A message claimed by a gone replica before its reply row existed (the claim is still open)
gets "could not answer" on its placeholder: the one the claim names, or, when the process
died between posting it and noting it, the bot message in the thread whose Stop button
names the claimed message; without a placeholder the note is posted in the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import texts, texts_tools
from bot.db.records import OpenClaim, ReplyStatus, ThreadKey, UnfinishedReply
from bot.db.replicas import ReplicaRegistry
from bot.db.resumable import Question, Resumable
from bot.db.store import Store
from bot.slack.posted import REPLY_EVENT, thread_messages
from bot.slack.reply.interrupted import mark_interrupted, mark_not_answered
from bot.slack.reply.markup import FEEDBACK_ACTION, STOP_ACTION, action_ids, markdown_of
from bot.slack.sessions import AgentSessions
from bot.slack.writer import SlackWriteFailed, SlackWriter, Writer
from bot.telemetry.scope import turn_scope
from bot.turns.request import step_execution

logger = logging.getLogger(__name__)

# Start resuming a left reply in the background: (the reply, its question, its messages).
Resume = Callable[[UnfinishedReply, Question, list[list[Any]]], None]


async def recover(
    replicas: ReplicaRegistry,
    store: Store,
    writer: SlackWriter,
    *,
    limit: int,
    startup: bool,
    resume: Resume | None = None,
    resumable: Resumable | None = None,
    max_age: float = 600.0,
    sessions: AgentSessions | None = None,
) -> None:
    """Resume, keep or mark orphaned replies; answer orphaned claims, in Slack and the DB.

    A thread's agent session left `processing` by a reply that is kept or marked (not
    resumed) is set `active`.
    """

    async def handle(left: UnfinishedReply) -> None:
        if not await replicas.take_over(left, ReplyStatus.STREAMING):
            return  # another replica got there first
        try:
            with turn_scope(left.key.team_id, left.key.channel_id):
                if not await _finish(left, store, writer, limit, resume, resumable, max_age):
                    await _end_session(sessions, left.key, left.key.thread_ts)
        except Exception:
            logger.exception("could not finish reply %s; the next look tries again", left.slack_ts)
            with contextlib.suppress(Exception):
                await replicas.give_back(left)

    # All at once: a dead replica's answers should all grow again within moments.
    lefts = await replicas.orphaned_replies(startup=startup)
    await asyncio.gather(*(handle(left) for left in lefts))
    for claim in await replicas.open_claims(startup=startup):
        if not await replicas.take_claim(claim):
            continue
        logger.warning("message %s was claimed but never answered", claim.message_ts)
        try:
            with turn_scope(claim.key.team_id, claim.key.channel_id):
                reply_ts = claim.reply_ts or await find_placeholder(writer, claim)
                await mark_not_answered(writer, claim.key, reply_ts)
                await _end_session(sessions, claim.key, claim.key.thread_ts or claim.message_ts)
        except Exception:
            logger.exception("could not mark message %s in Slack", claim.message_ts)


async def _finish(
    left: UnfinishedReply,
    store: Store,
    writer: SlackWriter,
    limit: int,
    resume: Resume | None,
    resumable: Resumable | None,
    max_age: float,
) -> bool:
    """Handle one reply this replica just took over; tell whether it is being resumed."""
    execution = step_execution(left.key.thread_ts)
    if execution is not None:  # a Workflow Builder step: no message, the workflow waits
        await _fail_step(writer, left.key.team_id, execution)  # then noted: a kill between
        await store.set_reply(left.id, status=ReplyStatus.INTERRUPTED)  # fails it again
        return False
    if not left.slack_ts:  # nothing was ever shown
        await store.set_reply(left.id, status=ReplyStatus.INTERRUPTED)
        return False
    # A round after tools starts a new row: the parts may be saved on an earlier one.
    parts = left.parts or await store.reply_parts(left.key, left.slack_ts)
    layout = [list(p) for p in parts] if parts else [[left.slack_ts, 0, ""]]
    final = await read_back_final(writer, left.key, str(layout[-1][0]), rolled=len(layout) > 1)
    if final is not None:
        logger.warning("reply %s was final in Slack but not saved; keeping it", left.slack_ts)
        whole = len(layout) == 1 and left.content == await store.reply_text(left.key, left.slack_ts)
        content = final if whole and len(final) > len(left.content) else None
        await store.set_reply(left.id, content=content, status=ReplyStatus.COMPLETE)
        return False
    if resume is not None and resumable is not None:
        age = await resumable.age(left.key, left.slack_ts)
        question = await resumable.question(left.key, left.slack_ts) if age <= max_age else None
        if question is not None:
            if await drop_unsaved(writer, left.key, layout):
                await store.set_reply(left.id, status=ReplyStatus.COMPLETE)
                return False
            logger.warning("reply %s was left unfinished; resuming it", left.slack_ts)
            resume(left, question, layout)
            return True
        logger.warning("reply %s is too old (%.0fs) or unknown to resume", left.slack_ts, age)
    logger.warning("reply %s was left unfinished; marking it interrupted", left.slack_ts)
    await store.set_reply(left.id, status=ReplyStatus.INTERRUPTED)
    shown = await store.reply_text(left.key, left.slack_ts)
    await mark_interrupted(writer, left.key, left.slack_ts, shown, limit=limit, parts=parts)
    return False


async def _fail_step(writer: SlackWriter, team_id: str, execution: str) -> None:
    """Fail a step whose process died while answering it, as a shutdown would have.

    With the workspace's bot token (the step's own token was never stored); a step Slack
    already ended (it gives up on a step after a while) answers with an error, logged.
    """
    logger.warning("workflow step %s was left unanswered; failing it", execution)
    try:
        await writer.call(
            team_id,
            "functions.completeError",
            function_execution_id=execution,
            error=texts_tools.STEP_RESTARTED,
        )
    except (SlackApiError, SlackWriteFailed) as exc:
        logger.warning("could not fail workflow step %s (%s)", execution, exc)


async def drop_unsaved(writer: Writer, key: ThreadKey, layout: list[list[Any]]) -> bool:
    """Delete the messages a reply posted after the last one its saved layout names; True
    when one of them shows the answer finished (kept: the reply is not to be resumed).

    A process killed between posting a message and saving the layout that names it leaves
    that message out of the layout (it never showed a Stop button: `layout_saved`). The
    reply resumed from the layout posts that text again, so the orphan goes first. Its
    metadata (`bot.slack.posted`) names the reply by its first message, whichever process
    posted it. A last part posted already final (feedback buttons) means the answer ended
    in Slack before the kill: nothing is deleted and the caller keeps the reply as it is.
    """
    client = getattr(writer, "client", None)
    last = str(layout[-1][0])
    if client is None or not last:
        return False
    ours = {str(layout[0][0])}
    orphans: list[dict[str, Any]] = []
    read = thread_messages(client, key.channel_id, key.thread_ts, oldest=last, inclusive="true")
    try:
        async for message in read:
            if str(message.get("ts")) == last and _reply_of(message):
                ours.add(str(_reply_of(message)))  # an id from before ids were first ts
            elif float(message.get("ts") or 0) > float(last):
                orphans.append(message)
    except (SlackApiError, OSError, TimeoutError) as exc:
        logger.warning("could not read back reply %s (%s)", last, exc)
        return False
    orphans = [m for m in orphans if _reply_of(m) in ours]
    if any(_shows_final(m) for m in orphans):
        logger.warning("reply %s ended in Slack in a message never saved; keeping it", last)
        return True
    for message in orphans:
        ts = str(message["ts"])
        logger.warning("message %s of reply %s was never saved; deleting it", ts, last)
        try:
            await writer.call(key.team_id, "chat.delete", channel=key.channel_id, ts=ts)
        except (SlackApiError, SlackWriteFailed) as exc:
            logger.warning("could not delete message %s (%s)", ts, exc)
    return False


def _reply_of(message: dict[str, Any]) -> str | None:
    """Return the reply a message belongs to, by its metadata (None: not a reply's part)."""
    meta = message.get("metadata") or {}
    if meta.get("event_type") != REPLY_EVENT:
        return None
    return str((meta.get("event_payload") or {}).get("reply") or "") or None


def _shows_final(message: dict[str, Any]) -> bool:
    """Tell whether a message shows the feedback buttons of a complete answer."""
    return FEEDBACK_ACTION in action_ids(message)


async def read_back_final(
    writer: SlackWriter, key: ThreadKey, ts: str, *, rolled: bool = False
) -> str | None:
    """Return the Markdown of a reply's message when Slack shows it final, else None.

    Final means it carries blocks (buttons are on) but no Stop button: every streaming
    state of such a message has one. A message the reply rolled over to (`rolled`) is
    posted closed and gets its Stop button one edit later, so there only the feedback
    buttons of a complete answer prove it final. Without buttons the state cannot be told.
    """
    try:
        if key.thread_ts:
            response = await writer.client.conversations_replies(
                channel=key.channel_id, ts=key.thread_ts, limit=200
            )
        else:
            response = await writer.client.conversations_history(
                channel=key.channel_id, oldest=ts, latest=ts, inclusive=True, limit=1
            )
    except (SlackApiError, OSError, TimeoutError) as exc:
        logger.warning("could not read back reply %s (%s)", ts, exc)
        return None
    for message in response.get("messages") or ():
        if message.get("ts") != ts or not message.get("blocks"):
            continue
        actions = action_ids(message)
        if STOP_ACTION in actions or (rolled and FEEDBACK_ACTION not in actions):
            return None
        shown = markdown_of(message)
        return shown if shown and shown != texts.PLACEHOLDER else None
    return None


async def _end_session(sessions: AgentSessions | None, key: ThreadKey, thread_ts: str) -> None:
    """Leave the thread's agent session `active` (a top-level DM reply, or a workflow
    step, has none to end)."""
    if sessions is not None and thread_ts and step_execution(thread_ts) is None:
        await sessions.set_status(key.team_id, key.channel_id, thread_ts, "active")


async def find_placeholder(writer: SlackWriter, claim: OpenClaim) -> str | None:
    """Return the ts of the bot's reply to a claimed message, read back from Slack."""
    key = claim.key
    try:
        if key.thread_ts:
            response = await writer.client.conversations_replies(
                channel=key.channel_id, ts=key.thread_ts, limit=100
            )
        else:  # a top-level DM answer sits in the channel itself, after the question
            response = await writer.client.conversations_history(
                channel=key.channel_id, oldest=claim.message_ts, limit=100
            )
    except (SlackApiError, OSError, TimeoutError) as exc:
        logger.warning("could not read back the thread of %s (%s)", claim.message_ts, exc)
        return None
    for message in response.get("messages") or ():
        if _answers(message, claim.message_ts):
            return str(message["ts"])
    return None


def _answers(message: dict[str, Any], message_ts: str) -> bool:
    """Tell whether a Slack message is the bot's streaming reply to `message_ts`."""
    if not message.get("bot_id") or float(message.get("ts") or 0) <= float(message_ts):
        return False
    for block in message.get("blocks") or ():
        for item in block.get("elements") or ():
            if item.get("action_id") == STOP_ACTION and item.get("value") == message_ts:
                return True
    return (message.get("text") or "") == texts.PLACEHOLDER
