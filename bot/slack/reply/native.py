"""Slack's native streaming (chat.startStream / appendStream / stopStream), with fallbacks.

A reply streams its answer append-only. One flusher task appends whatever arrived since the
last append every `interval` seconds, within the workspace's `chat.appendStream` budget:
slack_sdk's `chat_stream()` helper flushes only on size, which leaves a slow answer stalled.
Text goes out formatted for Slack (`to_slack`) as far as it is settled (`settle.py`); tool
progress goes out as `task_update` chunks, in order with the text around it. A stream that
outgrows `limit` is stopped and the answer continues in a new stream in the thread.

When Slack ends a stream early (`message_not_in_streaming_state` after ~5 minutes,
`user_not_found` for Slack Connect users, `stopped_by_user`, or any other refusal), or the
final formatting differs from what was streamed, the reply goes on as an update-mode
`StreamingReply` on the same message, or on a new message when that one cannot be edited;
either way no text is lost or shown twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.aio import cancel_and_wait
from bot.clock import Clock, SystemClock
from bot.slack.budget import EditBudget, Lease
from bot.slack.reply.fallback import (
    UpdateFallback,
    drop_lost_stream,
    reason_of,
    repair,
    stop_quietly,
    take_over,
    update_reply,
)
from bot.slack.reply.format import to_slack
from bot.slack.reply.markup import ReplyMarkup, feedback_block
from bot.slack.reply.settle import settled
from bot.slack.reply.split import ROLLOVER_MARGIN, close_part, fit_part
from bot.slack.reply.update import ReplyTarget, StreamingReply, rendered_size
from bot.slack.writer import SlackWriteFailed, Writer

logger = logging.getLogger(__name__)

STOPPED_BY_USER = "stopped_by_user"
Source = tuple[str, str]  # (url, text) of a link a task drew on


class _StreamEnded(Exception):
    """Slack refused a stream call; the reply falls back to chat.update."""

    def __init__(self, reason: str, *, fresh: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fresh = fresh  # the current stream is closed and complete: go on in a new message


@dataclass(slots=True)
class NativeReply:
    """Stream a growing answer into Slack with the native streaming methods."""

    writer: Writer
    target: ReplyTarget  # thread_ts must be set: streams are always thread replies
    recipient_user_id: str = ""
    recipient_team_id: str = ""
    interval: float = 0.5
    limit: int = 3900
    update_interval: float = 1.0  # the pace of chat.update after a fallback
    clock: Clock = field(default_factory=SystemClock)
    budget: EditBudget | None = None
    # Buttons as in update mode: the final stopStream carries the feedback buttons, and a
    # fallback to chat.update shows the Stop button while it streams.
    markup: ReplyMarkup = field(default_factory=ReplyMarkup)
    # Set by the turn when the thread has an agent session: the last chat.stopStream moves
    # it on (`session_status`), and `session_ended` tells that it landed.
    session_status: str | None = None
    session_ended: bool = False

    _text: str = ""
    _tasks: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _ts: list[str] = field(default_factory=list)  # one per stream, in order
    _start: int = 0  # where the current stream's message starts in `_text`
    _prefix: str = ""  # a code fence reopened at the top of the current stream
    _sent: int = 0  # how much of `_text` the current stream shows
    _shown: str = ""  # what the current stream shows: `_text[_start:_sent]`, formatted
    _next_at: float = 0.0
    _closing: bool = False
    _dirty: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _lease: Lease | None = None
    _fallback: UpdateFallback | None = None
    _closed: tuple[str, int, str] | None = None  # the last stream stopped: ts, start, prefix
    _streams: list[list[Any]] = field(default_factory=list)  # the same, for every stream
    # What the streams show once the answer took some back (a lone `</think>`): see `_take`.
    _taken_back: str | None = None
    _sending: int = 0  # how much of `_text` the streams show or are being sent
    appends: int = 0
    fallback_reason: str | None = None
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    on_roll: Callable[[], Awaitable[None]] | None = None  # not called: parts are streams

    @property
    def takes_back(self) -> bool:
        """Tell whether retracted text leaves Slack (not after a fault's mid-reply fallback)."""
        return self._fallback is None or self._fallback.base == 0

    @property
    def layout(self) -> list[list[Any]] | None:
        """Return None: a native reply's parts are not saved for recovery."""
        return None

    def layout_saved(self, layout: list[list[Any]]) -> None:
        """Nothing to do: a native reply saves no layout (`layout` is None)."""

    def offer_stop(self, value: str) -> None:
        """Name the turn for a Stop button, shown only after a fallback (streams have their own)."""
        self.markup.stop_value = value

    def offer_feedback(self, feedback_id: int) -> None:
        """Offer feedback buttons at chat.stopStream (or on the fallback's final edit)."""
        if self.markup.stop_value:
            self.markup.feedback_id = feedback_id

    @property
    def ts(self) -> str | None:
        """Return the ts of the first message of this reply."""
        return self._ts[0] if self._ts else (self._fallback.reply.ts if self._fallback else None)

    @property
    def message_ts(self) -> list[str]:
        """Return the ts of every message this reply used, in order."""
        more = self._fallback.reply.message_ts if self._fallback else []
        return list(dict.fromkeys(self._ts + more))

    @property
    def edits(self) -> int:
        """Return how many appends and edits landed."""
        return self.appends + (self._fallback.reply.edits if self._fallback else 0)

    async def start(self) -> str:
        """Open the stream (or fall back to a posted placeholder); return the message ts."""
        try:
            ts = await self._open("")
        except (SlackApiError, SlackWriteFailed) as exc:
            await drop_lost_stream(self.writer, self.target, self._ts, "")
            self.fallback_reason = reason_of(exc)
            logger.warning("native stream refused (%s); using chat.update", self.fallback_reason)
            self._fallback = UpdateFallback(self._update_reply(), 0)
            return await self._fallback.reply.start()
        self._task = asyncio.create_task(self._run(), name=f"stream-{ts}")
        return ts

    def update(self, text: str, status: str | None = None) -> None:
        """Show `text`, the whole answer so far; `status` shows after a fallback."""
        self._take(text)
        if self._fallback is not None:
            self._fallback.reply.update(self._fallback.text(text), status)
        elif len(text) > self._sent:
            self._dirty.set()

    def _take(self, text: str) -> None:
        """Keep `text`; note when it retracts what the streams show (see `_fall_back`)."""
        shown = self._text[: self._sending]  # sent, or being sent by the flusher right now
        if self._fallback is None and self._taken_back is None and not text.startswith(shown):
            self._taken_back = shown
            self._dirty.set()
        self._text = text

    def task(self, task_id: str, title: str, status: str, sources: Sequence[Source] = ()) -> None:
        """Show tool progress as a `task_update` chunk (pending/in_progress/complete/error),
        with the links it drew on as `sources`."""
        if self._fallback is not None:
            return
        position = self._tasks[task_id][0] if task_id in self._tasks else len(self._text)
        chunk: dict[str, Any] = {"type": "task_update", "id": task_id, "title": title}
        chunk["status"] = status
        if sources:
            chunk["sources"] = [{"type": "url", "url": u, "text": t} for u, t in sources]
        self._tasks[task_id] = (position, chunk)
        self._dirty.set()

    async def finish(self, text: str) -> None:
        """Append the rest of `text` and stop the stream; returns once it landed."""
        self._take(text)
        self._closing = True
        if self._lease is not None:
            self._lease.promote()
        self._dirty.set()
        if self._task is not None:
            await asyncio.shield(self._task)  # shutdown must not cancel the final call midway
        if self._fallback is not None:
            await self._fallback.reply.finish(self._fallback.text(text))

    async def abort(self) -> None:
        """Stop flushing without a final call."""
        await cancel_and_wait(self._task)
        if self._fallback is not None:
            await self._fallback.reply.abort()

    async def _run(self) -> None:
        if self.budget is not None:
            self._lease = self.budget.lease(
                self.target.team_id, "chat.appendStream", self.target.asker
            )
        try:
            while True:
                await self._dirty.wait()
                delay = self._next_at - self.clock.now()
                if delay > 0 and not self._closing:
                    await self.clock.sleep(delay)
                if not (
                    self._closing or self._tasks or self._taken_back or self._settled() > self._sent
                ):
                    self._dirty.clear()  # only an unfinished word arrived: nothing to show yet
                    continue
                if self._lease is not None and not self._closing:
                    await self._lease.acquire()  # meanwhile more text arrives: one append
                self._dirty.clear()
                final = self._closing
                try:
                    await self._flush(final)
                except _StreamEnded as ended:
                    if ended.reason in ("reformatted", "append_failed", "retracted"):
                        await stop_quietly(
                            self.writer, self.target, self._ts[-1]
                        )  # the stream lives: end it for chat.update
                    await self._fall_back(ended.reason, fresh=ended.fresh)
                    return
                except SlackWriteFailed:
                    if final:
                        await self._fall_back("write_failed")
                        return
                    logger.exception("append failed; the next one carries the text")
                if final:
                    return
        finally:
            if self._lease is not None:
                self._lease.close()

    async def _flush(self, final: bool) -> None:
        if self._taken_back is not None:
            raise _StreamEnded("retracted")
        await self._roll_over(final)
        pending = sorted(position for position, _ in self._tasks.values())
        if final:
            upto = len(self._text)
        elif pending:
            upto = max(self._sent, pending[0])  # text before a tool call is complete: show it
        else:
            upto = self._settled()
        self._sending = max(self._sending, upto)  # what `_take` counts as shown from now on
        shown = self._render(upto)
        if not shown.startswith(self._shown):
            raise _StreamEnded("reformatted")  # only chat.update can change what is shown
        tasks = [(k, pos, chunk) for k, (pos, chunk) in self._tasks.items() if pos <= upto]
        text = shown[len(self._shown) :]
        chunks = [chunk for _, pos, chunk in tasks if pos <= self._sent]  # before the new text
        chunks += [{"type": "markdown_text", "text": text}] if text else []
        chunks += [chunk for _, pos, chunk in tasks if pos > self._sent]
        if final:
            session = {"session_status": self.session_status} if self.session_status else {}
            await self._call(
                "chat.stopStream",
                must_land=True,
                chunks=chunks or None,
                **self._end_blocks(),
                **session,
            )
            self._sent, self._shown, self._tasks = upto, shown, {}
            self.session_ended = bool(session)
            return
        if not chunks:
            return
        self._next_at = self.clock.now() + self.interval
        if await self._call("chat.appendStream", must_land=False, chunks=chunks) is None:
            if self.writer.paused_for(self.target.team_id, "chat.appendStream") <= 0:
                # Not a 429: the append may have landed or not; chat.update settles it.
                raise _StreamEnded("append_failed")
            self._dirty.set()  # rate limited, so not applied: the next append carries it
            return
        self.appends += 1
        self._sent, self._shown = upto, shown
        for task_id, _, chunk in tasks:
            if task_id in self._tasks and self._tasks[task_id][1] is chunk:
                del self._tasks[task_id]
        if self._tasks or self._settled() > self._sent:
            self._dirty.set()  # text and tasks after this one are still to go

    def _end_blocks(self) -> dict[str, Any]:
        """Return the blocks a finished answer ends with (Slack renders them below it)."""
        if self.markup.feedback_id is None:
            return {}
        return {"blocks": [feedback_block(self.markup.feedback_id)]}

    def _settled(self) -> int:
        head = self._prefix + self._text[self._start :]
        return max(self._sent, self._start + settled(head, len(self._prefix)) - len(self._prefix))

    def _render(self, upto: int) -> str:
        if upto <= self._start:
            return self._shown  # a reopened table header shows only with rows below it
        return to_slack(self._prefix + self._text[self._start : upto])

    async def _roll_over(self, final: bool) -> None:
        """Stop the stream at a safe boundary and open a new one while the answer outgrows it."""
        room = self.limit - (0 if final else ROLLOVER_MARGIN)
        while rendered_size(self._prefix + self._text[self._start :]) > room:
            rest = self._text[self._start :]
            _, cut, _ = fit_part(rest, room, prefix=self._prefix, measure=rendered_size)
            cut = max(cut, self._sent - self._start)
            closed, next_prefix = close_part(self._prefix + rest[:cut], rest[cut:])
            part = to_slack(closed)
            end = self._start + cut
            tasks = {k: v for k, v in self._tasks.items() if v[0] <= end}
            chunks = [chunk for _, chunk in tasks.values()]
            if part.startswith(self._shown):
                tail = part[len(self._shown) :]
                chunks = ([{"type": "markdown_text", "text": tail}] if tail else []) + chunks
            self._sending = max(self._sending, end)
            await self._call("chat.stopStream", must_land=True, chunks=chunks or None)
            if not part.startswith(self._shown):
                await repair(self.writer, self.budget, self.target, self._ts[-1], part)
            self._tasks = {k: v for k, v in self._tasks.items() if k not in tasks}
            self._closed = (self._ts[-1], self._start, self._prefix)
            self._start = self._sent = end
            # A reopened table header is not shown on its own: the table streams once whole.
            fence = next_prefix if next_prefix.lstrip().startswith(("`", "~")) else ""
            self._prefix, self._shown = next_prefix, to_slack(fence)
            try:
                await self._open(self._shown)
            except (SlackApiError, SlackWriteFailed) as exc:
                await drop_lost_stream(self.writer, self.target, self._ts, self._shown)
                raise _StreamEnded(reason_of(exc), fresh=True) from exc

    async def _open(self, text: str) -> str:
        args: dict[str, Any] = {"channel": self.target.channel, "thread_ts": self.target.thread_ts}
        if not self.target.channel.startswith("D"):  # Slack needs the recipient outside DMs
            args["recipient_user_id"] = self.recipient_user_id
            args["recipient_team_id"] = self.recipient_team_id or self.target.team_id
        if text:
            args["markdown_text"] = text
        response = await self.writer.call(self.target.team_id, "chat.startStream", **args)
        assert response is not None
        ts = str(response["ts"])
        self._ts.append(ts)
        self._streams.append([ts, self._start, self._prefix])
        return ts

    async def _call(self, method: str, *, must_land: bool, **args: Any) -> Any:
        try:
            return await self.writer.call(
                self.target.team_id,
                method,
                must_land=must_land,
                channel=self.target.channel,
                ts=self._ts[-1],
                **args,
            )
        except SlackApiError as exc:
            raise _StreamEnded(reason_of(exc)) from exc

    async def _fall_back(self, reason: str, *, fresh: bool = False) -> None:
        """Go on with chat.update on the streamed message, or on a new one."""
        self.fallback_reason = reason
        if reason == STOPPED_BY_USER:
            self.stopped.set()
        ts = self._ts[-1]
        logger.info("native stream %s ended (%s); continuing with chat.update", ts, reason)
        if self._taken_back is not None:  # every stream a message of one update-mode reply,
            reply = self._update_reply()  # whose rewind deletes those past the change
            reply.resume(self._streams, self._text, head=self._taken_back)
            self._fallback = UpdateFallback(reply, 0)
            return
        self._fallback = await take_over(
            self._update_reply(),
            budget=self.budget,
            ts=ts,
            answer=self._text,
            start=self._start,
            sent=self._sent,
            prefix=self._prefix,
            fresh=fresh,
            closed=self._closed,
        )
        self._fallback.reply.update(self._fallback.text(self._text))

    def _update_reply(self) -> StreamingReply:
        reply = update_reply(
            self.writer,
            self.target,
            interval=self.update_interval,
            limit=self.limit,
            clock=self.clock,
            budget=self.budget,
        )
        reply.markup = self.markup  # shared: the turn sets feedback on it when done
        return reply
