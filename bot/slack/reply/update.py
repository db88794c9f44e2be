"""One streamed answer shown as Slack messages edited in place, throttled and coalesced.

A single flusher task owns the edits of a reply, so two edits of one message are never in
flight and an older text never lands after a newer one: each edit sends the newest text.
When the answer outgrows a message it is closed at a safe boundary and continued in a new
message in the same thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import texts
from bot.aio import cancel_and_wait
from bot.clock import Clock, SystemClock
from bot.slack.budget import EditBudget, Lease
from bot.slack.posted import part_metadata
from bot.slack.reply.markup import MessageState, ReplyMarkup
from bot.slack.reply.parts import CutShort, Part, ReplyTarget, rendered_size
from bot.slack.reply.split import ROLLOVER_MARGIN, fit_part
from bot.slack.writer import SlackWriteFailed, Writer

logger = logging.getLogger(__name__)


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

    _parts: list[Part] = field(default_factory=list)
    _text: str = ""
    _status: str | None = None
    _offset: int = 0  # where the current message starts in `_text`
    _prefix: str = ""  # a code fence (or table header) reopened at the top of the message
    _head: str = ""  # the answer's text the earlier messages show: `_text[:_offset]`
    _id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])  # names posts (metadata)
    _next_at: float = 0.0
    _closing: bool = False
    _dirty: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _lease: Lease | None = None
    _granted: bool = False  # a budget grant taken and not yet used
    _rendered: tuple[tuple[Any, ...], dict[str, Any]] | None = None  # the last render
    edits: int = 0
    # Set when the user stopped the reply in Slack; update mode has no such signal itself.
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    # Awaited when a new message is posted: the turn saves where it is, then `layout_saved`;
    # only saved messages show Stop, so recovery knows every message that shows one.
    on_roll: Callable[[], Awaitable[None]] | None = None
    saved: int = 1  # how many messages a stored layout names (the first: the row's)

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
        self._parts.append(Part(ts=response, sent=self.placeholder, shown=shown))
        self._task = asyncio.create_task(self._run(), name=f"reply-{response}")
        return response

    async def adopt(self, ts: str, shown: str = "") -> None:
        """Continue an existing message (a native stream's fallback) instead of posting anew."""
        self._parts.append(Part(ts=ts, sent=shown))
        self._task = asyncio.create_task(self._run(), name=f"reply-{ts}")

    def layout_saved(self, layout: list[list[Any]]) -> None:
        """Note that `layout` was stored: the messages it names as they are may show Stop."""
        named = 0
        for part, saved in zip(self._parts, layout, strict=False):
            if part.ts != str(saved[0]):
                break  # rewound since that layout was taken
            named += 1
        if named > self.saved:
            self.saved = named
            self._dirty.set()

    def resume(self, layout: list[list[Any]], text: str, *, head: str = "") -> None:
        """Go on in the messages another process left (`layout` as saved), showing `text`
        (`bot.turns.takeover`, `bot.turns.resume`): the last one is edited at once (its Stop
        button back), the earlier ones stay as they are."""
        for ts, start, prefix in layout:
            self._parts.append(Part(ts=str(ts), start=int(start), prefix=str(prefix)))
        self._offset, self._prefix = self._parts[-1].start, self._parts[-1].prefix
        self._text = text
        self._head = head  # what the earlier messages show, when `text` took some of it back
        self.saved = len(self._parts)
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
            # Shielded: a turn cancelled at shutdown must not cancel its final edit midway.
            await asyncio.shield(self._task)

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
        if self._diverged():
            return True
        room = self.limit - (0 if final else ROLLOVER_MARGIN)
        if self._pending() > room:
            return True
        return self._content(self._view(final), final) != self._parts[-1].shown

    def _content(self, text: str, final: bool, state: MessageState | None = None) -> dict[str, Any]:
        state = state or ("final" if final else "streaming")
        stop = self.on_roll is None or len(self._parts) <= self.saved
        # A flush asks twice (is an edit needed? then the edit): render the Markdown once.
        key = (text, state, self.markup.stop_value, self.markup.feedback_id, stop)
        if self._rendered is None or self._rendered[0] != key:
            self._rendered = (key, self.markup.content(text, state, stop=stop))
        return self._rendered[1]

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
        if self._diverged():
            await self._rewind()
        posted = len(self._parts)
        try:
            await self._roll_over(final)
        except CutShort:
            return
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

    def _view(self, final: bool, offset: int | None = None, prefix: str | None = None) -> str:
        offset = self._offset if offset is None else offset
        prefix = self._prefix if prefix is None else prefix
        body = prefix + self._text[offset:]
        if self._status and not final:
            body = f"{body}\n\n{self._status}" if body.strip() else self._status
        return body if body.strip() else self.placeholder

    def _diverged(self) -> bool:
        """Tell whether text an earlier message shows was taken back (a retraction)."""
        return bool(self._offset) and not self._text.startswith(self._head)

    async def _rewind(self) -> None:
        """Go back to the message where the answer changed; delete the messages after it.

        A lone `</think>` retracts reasoning that was streamed as answer text, possibly over
        several messages: those past the answer's new end would keep it (and a short answer
        would show in none of them) unless they go.
        """
        same = len(os.path.commonprefix([self._text, self._head]))
        keep = max(i for i, part in enumerate(self._parts) if i == 0 or part.start < same)
        for part in self._parts[keep + 1 :]:
            try:
                await self.writer.call(
                    self.target.team_id, "chat.delete", channel=self.target.channel, ts=part.ts
                )
            except (SlackApiError, SlackWriteFailed) as exc:
                logger.warning(
                    "could not delete message %s of a retracted reply (%s)", part.ts, exc
                )
        del self._parts[keep + 1 :]
        self.saved = min(self.saved, len(self._parts))
        current = self._parts[-1]
        self._offset, self._prefix = current.start, current.prefix
        # From the text as it was split (it may have changed again meanwhile): a later
        # change is found by the next flush the same way.
        self._head = self._head[: self._offset]
        if self.on_roll is not None:
            await self.on_roll()  # the saved layout loses the deleted messages

    async def _roll_over(self, final: bool) -> None:
        """Close the current message at a safe boundary while the answer outgrows it.

        A message that is already complete when it is posted (one of several pending at
        once, or the last part of a final text) is posted in its final state, so it never
        needs a later edit: rolling a long answer over costs one chat.postMessage a part.
        The offset moves only once the next message exists: a post that fails leaves the
        text with this reply, for the next flush to post again (or, for the final text,
        for a note saying the rest could not be shown).
        """
        room = self.limit - (0 if final else ROLLOVER_MARGIN)  # keep space for a status line
        while True:
            if self._diverged():  # taken back while the last call was made
                await self._rewind()
            if self._pending() <= room:
                return
            text = self._text  # the text being split; it may change while a call is made
            part_text, cut, next_prefix = self._next_part(room)
            current = self._parts[-1]
            closed = self._content(part_text, True, "closed")
            if closed != current.shown:
                await self._edit(current.ts, closed, must_land=True, final=True)
                current.sent, current.shown = part_text, closed
            offset = self._offset + cut
            # Posted without the Stop button even while streaming: it gets one with the next
            # edit, once `on_roll` saved where this message is.
            state: MessageState = "final" if final else "closed"
            body = self._view(final, offset, next_prefix)
            if self._pending(offset, next_prefix) > room:
                # Several messages' worth is pending (a burst, or the final text): post only
                # what the next message holds, already closed; the next pass finds it so.
                rest = self._text[offset:]
                body, state = (
                    fit_part(rest, room, prefix=next_prefix, measure=rendered_size)[0],
                    "closed",
                )
            try:
                ts, shown = await self._post(body, state)
            except (SlackApiError, SlackWriteFailed):
                if final:
                    await self._cut_short(room)
                raise
            self._offset, self._prefix = offset, next_prefix
            self._head = text[:offset]
            self._parts.append(
                Part(ts=ts, sent=body, shown=shown, start=self._offset, prefix=self._prefix)
            )
            self._next_at = self.clock.now() + self.interval
            if self.on_roll is not None:
                await self.on_roll()

    async def _cut_short(self, room: int) -> None:
        """End the last message that could be shown with a note that the rest is missing."""
        note = texts.REPLY_CUT_SHORT
        part_text = self._next_part(room - len(note) - 2)[0]
        content = self._content(f"{part_text}\n\n{note}", True, "final")
        current = self._parts[-1]
        logger.error("reply %s: the rest of the answer could not be posted", current.ts)
        try:
            await self._edit(current.ts, content, must_land=True, final=True)
            current.shown = content
        except (SlackApiError, SlackWriteFailed) as exc:
            logger.warning("could not add the note to %s (%s)", current.ts, exc)
        raise CutShort

    def _pending(self, offset: int | None = None, prefix: str | None = None) -> int:
        """Return the rendered length the current message would have with all the text so far."""
        offset = self._offset if offset is None else offset
        prefix = self._prefix if prefix is None else prefix
        raw = len(prefix) + len(self._text) - offset
        if raw > 4 * self.limit:
            return raw  # far too long either way; rendering it all would only cost time
        return rendered_size(prefix + self._text[offset:])

    def _next_part(self, room: int) -> tuple[str, int, str]:
        """Return the current message's text when cut to fit `room`, the cut, the next prefix."""
        rest = self._text[self._offset :]
        return fit_part(rest, room, prefix=self._prefix, measure=rendered_size)

    async def _post(
        self, text: str, state: MessageState = "streaming"
    ) -> tuple[str, dict[str, Any]]:
        content = self._content(text, state == "final", state)
        response = await self.writer.call(
            self.target.team_id,
            "chat.postMessage",
            channel=self.target.channel,
            thread_ts=self.target.thread_ts,
            # The first message's ts names the reply (any process resuming it knows it).
            metadata=part_metadata(
                self._parts[0].ts if self._parts else self._id, len(self._parts)
            ),
            **content,
        )
        assert response is not None
        return str(response["ts"]), content
