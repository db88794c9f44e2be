"""One streamed answer shown as Slack messages edited in place, throttled and coalesced.

A single flusher task owns the edits of a reply, so two edits of one message are never in
flight and an older text never lands after a newer one: each edit sends the newest text.
When the answer outgrows a message it is closed at a safe boundary and continued in a new
message in the same thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot import texts
from bot.aio import cancel_and_wait
from bot.clock import Clock, SystemClock
from bot.slack.budget import EditBudget, Lease
from bot.slack.reply.markup import MessageState, ReplyMarkup
from bot.slack.reply.split import FENCE_SLACK, ROLLOVER_MARGIN, close_part, split_point
from bot.slack.writer import Writer

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Part:
    ts: str
    sent: str = ""
    shown: dict[str, Any] | None = None  # the content arguments last sent (format, buttons)
    start: int = 0  # where this message starts in the whole answer
    prefix: str = ""  # the code fence it reopens


@dataclass(slots=True)
class ReplyTarget:
    """Where a reply goes."""

    team_id: str
    channel: str
    thread_ts: str
    asker: str = ""  # whose question it answers: the edit budget serves people in turn


@dataclass(slots=True)
class StreamingReply:
    """Show a growing answer in Slack with at most one edit per `interval` per message.

    With a `budget`, every `chat.update` also waits for this reply's share of the
    workspace's edit budget; the text sent is the newest at the moment the share comes.
    """

    writer: Writer
    target: ReplyTarget
    interval: float = 1.0
    limit: int = 3900
    clock: Clock = field(default_factory=SystemClock)
    placeholder: str = texts.PLACEHOLDER
    budget: EditBudget | None = None
    markup: ReplyMarkup = field(default_factory=ReplyMarkup)  # Slack formatting and buttons

    _parts: list[_Part] = field(default_factory=list)
    _text: str = ""
    _status: str | None = None
    _offset: int = 0  # where the current message starts in `_text`
    _prefix: str = ""  # a code fence reopened at the top of the current message
    _next_at: float = 0.0
    _closing: bool = False
    _dirty: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _lease: Lease | None = None
    _granted: bool = False  # a budget grant taken and not yet used
    edits: int = 0
    # Set when the user stopped the reply in Slack; update mode has no such signal itself.
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    # Awaited when a new message of the reply is posted, before it gets a Stop button: the
    # turn saves where it is, so crash recovery finds every message that shows one.
    on_roll: Callable[[], Awaitable[None]] | None = None

    def offer_stop(self, value: str) -> None:
        """Show a Stop button (its value names the turn) while the reply streams."""
        self.markup.stop_value = value

    def offer_feedback(self, feedback_id: int) -> None:
        """Show feedback buttons on the finished reply, if it offered Stop."""
        if self.markup.stop_value:
            self.markup.feedback_id = feedback_id

    @property
    def ts(self) -> str | None:
        """Return the ts of the first message of this reply."""
        return self._parts[0].ts if self._parts else None

    @property
    def message_ts(self) -> list[str]:
        """Return the ts of every message this reply used, in order."""
        return [part.ts for part in self._parts]

    @property
    def layout(self) -> list[list[Any]]:
        """Return [ts, start in the answer, reopened fence] of each message (for recovery)."""
        return [[part.ts, part.start, part.prefix] for part in self._parts]

    async def start(self) -> str:
        """Post the placeholder and start the flusher; return the message ts."""
        response, shown = await self._post(self.placeholder)
        self._parts.append(_Part(ts=response, sent=self.placeholder, shown=shown))
        self._task = asyncio.create_task(self._run(), name=f"reply-{response}")
        return response

    async def adopt(self, ts: str, shown: str = "") -> None:
        """Continue an existing message (after a restart) instead of posting a new one."""
        self._parts.append(_Part(ts=ts, sent=shown))
        self._task = asyncio.create_task(self._run(), name=f"reply-{ts}")

    def resume(self, layout: list[list[Any]], text: str) -> None:
        """Go on in the messages another process left (`layout` as saved), showing `text`.

        The last message is edited at once, which brings its Stop button back; the earlier
        ones are closed and stay as they are.
        """
        for ts, start, prefix in layout:
            self._parts.append(_Part(ts=str(ts), start=int(start), prefix=str(prefix)))
        self._offset, self._prefix = self._parts[-1].start, self._parts[-1].prefix
        self._text = text
        self._dirty.set()
        self._task = asyncio.create_task(self._run(), name=f"reply-{self._parts[0].ts}")

    def task(
        self, task_id: str, title: str, status: str, sources: Sequence[tuple[str, str]] = ()
    ) -> None:
        """Report tool progress; update mode shows it through `update`'s status line instead."""

    def update(self, text: str, status: str | None = None) -> None:
        """Show `text` (the whole answer so far) and an optional status line, soon."""
        if text == self._text and status == self._status:
            return
        self._text, self._status = text, status
        self._dirty.set()

    async def finish(self, text: str) -> None:
        """Show the final `text`; returns once the last edit has landed (or failed for good)."""
        self._text, self._status, self._closing = text, None, True
        if self._lease is not None:
            self._lease.promote()
        self._dirty.set()
        if self._task is not None:
            await self._task

    async def abort(self) -> None:
        """Stop the flusher without a final edit."""
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        if self.budget is not None:
            self._lease = self.budget.lease(self.target.team_id, "chat.update", self.target.asker)
            if self._closing:
                self._lease.promote()
        try:
            while True:
                await self._dirty.wait()
                delay = self._next_at - self.clock.now()
                if delay > 0:
                    await self.clock.sleep(delay)
                if self._lease is not None and self._needs_edit(self._closing):
                    # Waiting here coalesces: whatever arrives meanwhile goes out in one edit.
                    await self._lease.acquire(final=self._closing)
                    self._granted = True
                self._dirty.clear()
                final = self._closing
                try:
                    await self._flush(final)
                except Exception:
                    if final:
                        raise
                    logger.exception("intermediate edit failed; the next one carries the text")
                self._granted = False  # an unused grant is not saved for later: no bursts
                if final:
                    return
        finally:
            if self._lease is not None:
                self._lease.close()

    def _needs_edit(self, final: bool) -> bool:
        room = self.limit - (0 if final else ROLLOVER_MARGIN)
        if self._pending() > room:
            return True
        return self._content(self._view(final), final) != self._parts[-1].shown

    def _content(self, text: str, final: bool, state: MessageState | None = None) -> dict[str, Any]:
        return self.markup.content(text, state or ("final" if final else "streaming"))

    async def _edit(
        self, ts: str, content: dict[str, Any], *, must_land: bool, final: bool
    ) -> bool:
        """Make one `chat.update` within the budget; tell whether it landed."""
        if self._granted:
            self._granted = False
        elif self._lease is not None:
            await self._lease.acquire(final=final)
        response = await self.writer.call(
            self.target.team_id,
            "chat.update",
            must_land=must_land,
            channel=self.target.channel,
            ts=ts,
            **content,
        )
        if response is not None:
            self.edits += 1
        return response is not None

    async def _flush(self, final: bool) -> None:
        posted = len(self._parts)
        await self._roll_over(final)
        if len(self._parts) > posted and not final:
            self._dirty.set()  # a message just posted: its next edit (Stop button) in turn
            return
        view = self._view(final)
        part = self._parts[-1]
        content = self._content(view, final)
        if content == part.shown:
            return
        self._next_at = self.clock.now() + self.interval
        if await self._edit(part.ts, content, must_land=final, final=final):
            part.sent, part.shown = view, content

    def _view(self, final: bool) -> str:
        body = self._prefix + self._text[self._offset :]
        if self._status and not final:
            body = f"{body}\n\n{self._status}" if body.strip() else self._status
        return body if body.strip() else self.placeholder

    async def _roll_over(self, final: bool) -> None:
        """Close the current message at a safe boundary while the answer outgrows it.

        A message that is already complete when it is posted (one of several pending at
        once, or the last part of a final text) is posted in its final state, so it never
        needs a later edit: rolling a long answer over costs one chat.postMessage a part.
        """
        room = self.limit - (0 if final else ROLLOVER_MARGIN)  # keep space for a status line
        while self._pending() > room:
            part_text, cut, next_prefix = self._next_part(room)
            current = self._parts[-1]
            closed = self._content(part_text, True, "closed")
            if closed != current.shown:
                await self._edit(current.ts, closed, must_land=True, final=True)
                current.sent, current.shown = part_text, closed
            self._offset += cut
            self._prefix = next_prefix
            # Posted without the Stop button even while streaming: it gets one with the next
            # edit, once `on_roll` saved where this message is.
            state: MessageState = "final" if final else "closed"
            body = self._view(final)
            if self._pending() > room:
                # Several messages' worth is pending (a burst, or the final text): post only
                # what the next message holds, already closed; the next pass finds it so.
                body, state = self._next_part(room)[0], "closed"
            ts, shown = await self._post(body, state)
            self._parts.append(
                _Part(ts=ts, sent=body, shown=shown, start=self._offset, prefix=self._prefix)
            )
            self._next_at = self.clock.now() + self.interval
            if self.on_roll is not None:
                await self.on_roll()

    def _pending(self) -> int:
        """Return the length the current message would have with all the text so far."""
        return len(self._prefix) + len(self._text) - self._offset

    def _next_part(self, room: int) -> tuple[str, int, str]:
        """Return the current message's text when cut to fit `room`, the cut, the next prefix."""
        rest = self._text[self._offset :]
        budget = max(1, room - len(self._prefix) - FENCE_SLACK)
        cut = split_point(rest, budget, prefix=self._prefix)
        part_text, next_prefix = close_part(self._prefix + rest[:cut])
        return part_text, cut, next_prefix

    async def _post(
        self, text: str, state: MessageState = "streaming"
    ) -> tuple[str, dict[str, Any]]:
        content = self._content(text, state == "final", state)
        response = await self.writer.call(
            self.target.team_id,
            "chat.postMessage",
            channel=self.target.channel,
            thread_ts=self.target.thread_ts,
            **content,
        )
        assert response is not None
        return str(response["ts"]), content
