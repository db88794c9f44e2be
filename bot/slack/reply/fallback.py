"""Continue a native-streamed reply with chat.update when its stream cannot go on.

The streamed message is edited to show everything written so far and then edited as in
update mode; when that message cannot be edited, it keeps what it shows and the rest goes
to a new message. Either way the update-mode reply is fed only the text it owns, so
nothing is lost or shown twice.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot import texts
from bot.clock import Clock
from bot.slack.budget import EditBudget
from bot.slack.posted import find_lost_streams
from bot.slack.reply.split import open_fence, split_message
from bot.slack.reply.update import ReplyTarget, StreamingReply, rendered_size
from bot.slack.writer import SlackWriteFailed, Writer

logger = logging.getLogger(__name__)


def reason_of(exc: Exception) -> str:
    """Return Slack's error code (or the exception's name) for logs and decisions."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "error")
    return type(exc).__name__


async def edit(
    writer: Writer,
    budget: EditBudget | None,
    target: ReplyTarget,
    ts: str,
    content: dict[str, Any],
) -> None:
    """Make one must-land chat.update of `ts` within the workspace's edit budget."""
    lease = budget.lease(target.team_id, "chat.update", target.asker) if budget else None
    try:
        if lease is not None:
            await lease.acquire(final=True)
        await writer.call(target.team_id, "chat.update", channel=target.channel, ts=ts, **content)
    finally:
        if lease is not None:
            lease.close()


@dataclass(slots=True)
class UpdateFallback:
    """An update-mode reply that owns the answer from `base` on (after `prefix`)."""

    reply: StreamingReply
    base: int
    prefix: str = ""

    def text(self, answer: str) -> str:
        """Return the part of the whole `answer` this reply shows."""
        return self.prefix + answer[self.base :]


async def take_over(
    reply: StreamingReply,
    *,
    budget: EditBudget | None,
    ts: str,
    answer: str,
    start: int,
    sent: int,
    prefix: str,
    fresh: bool,
    closed: tuple[str, int, str] | None = None,
) -> UpdateFallback:
    """Continue the stream `ts` (holding `answer[start:sent]` after `prefix`) with `reply`.

    `fresh`: that stream is complete, so the rest goes to a new message. When that message
    cannot be posted either, the reply goes on in the stream stopped before it (`closed`:
    its ts, start and prefix), which then ends with what fits and, if Slack still refuses
    new messages, the note that the answer is cut short.
    """
    if fresh:
        try:
            await reply.start()
        except (SlackApiError, SlackWriteFailed) as exc:
            if closed is None:
                raise
            logger.warning("cannot post after stream %s (%s); editing it", ts, reason_of(exc))
            await reply.adopt(closed[0])
            return UpdateFallback(reply, closed[1], closed[2])
        return UpdateFallback(reply, start, prefix)
    view = prefix + answer[start:]
    first = (
        split_message(view, reply.limit, rendered_size)[0] if view.strip() else texts.PLACEHOLDER
    )
    try:
        content = reply.markup.content(first, "streaming")
        await edit(reply.writer, budget, reply.target, ts, content)
    except (SlackApiError, SlackWriteFailed) as exc:
        # The streamed message keeps what it shows; the rest goes to a new message.
        logger.warning("cannot edit streamed message %s (%s); posting anew", ts, reason_of(exc))
        opener = open_fence(prefix + answer[start:sent])
        await reply.start()
        return UpdateFallback(reply, sent, opener + "\n" if opener else "")
    await reply.adopt(ts, shown=first)
    return UpdateFallback(reply, start, prefix)


def update_reply(
    writer: Writer,
    target: ReplyTarget,
    *,
    interval: float,
    limit: int,
    clock: Clock,
    budget: EditBudget | None,
) -> StreamingReply:
    """Build the update-mode reply a native reply falls back to."""
    return StreamingReply(
        writer=writer, target=target, interval=interval, limit=limit, clock=clock, budget=budget
    )


async def drop_lost_stream(
    writer: Writer, target: ReplyTarget, streams: list[str], text: str
) -> None:
    """Delete the stream a start whose answer was lost (a timeout) may have opened after the
    reply's `streams`: left, it would stay open and empty in the thread until Slack expires it."""
    client = getattr(writer, "client", None)
    if client is None:
        return
    after = streams[-1] if streams else target.thread_ts
    try:
        lost = await find_lost_streams(
            client, target.channel, target.thread_ts, after=after, text=text
        )
        for ts in lost:
            await writer.call(target.team_id, "chat.delete", channel=target.channel, ts=ts)
    except (SlackApiError, SlackWriteFailed, TimeoutError, aiohttp.ClientError) as exc:
        logger.warning("could not look for a lost stream after %s (%s)", after, exc)


async def repair(
    writer: Writer, budget: EditBudget | None, target: ReplyTarget, ts: str, text: str
) -> None:
    """Show a finished part's final formatting, which its stream could not reach."""
    try:
        await edit(writer, budget, target, ts, {"markdown_text": text})
    except (SlackApiError, SlackWriteFailed) as exc:
        logger.warning("could not reformat message %s (%s)", ts, reason_of(exc))


async def stop_quietly(writer: Writer, target: ReplyTarget, ts: str) -> None:
    """Stop a stream so that chat.update can take over; it may be gone already."""
    with contextlib.suppress(SlackApiError, SlackWriteFailed):
        await writer.call(target.team_id, "chat.stopStream", channel=target.channel, ts=ts)
