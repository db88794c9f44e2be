"""One streamed answer shown as Slack messages edited in place, throttled and coalesced.

A single flusher task owns the edits of a reply, so two edits of one message are never in
flight and an older text never lands after a newer one: each edit sends the newest text.
When the answer outgrows a message it is closed at a safe boundary and continued in a new
message in the same thread.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from bot import messages as texts
from bot.clock import Clock, SystemClock
from bot.slack.split import FENCE_SLACK, close_part, split_point
from bot.slack.writer import SlackWriter

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Part:
    ts: str
    sent: str = ""


@dataclass(slots=True)
class ReplyTarget:
    """Where a reply goes."""

    team_id: str
    channel: str
    thread_ts: str


@dataclass(slots=True)
class StreamingReply:
    """Show a growing answer in Slack with at most one edit per `interval` per message."""

    writer: SlackWriter
    target: ReplyTarget
    interval: float = 1.0
    limit: int = 3900
    clock: Clock = field(default_factory=SystemClock)
    placeholder: str = texts.PLACEHOLDER

    _parts: list[_Part] = field(default_factory=list)
    _text: str = ""
    _status: str | None = None
    _offset: int = 0  # where the current message starts in `_text`
    _prefix: str = ""  # a code fence reopened at the top of the current message
    _next_at: float = 0.0
    _closing: bool = False
    _dirty: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    edits: int = 0

    @property
    def ts(self) -> str | None:
        """Return the ts of the first message of this reply."""
        return self._parts[0].ts if self._parts else None

    @property
    def message_ts(self) -> list[str]:
        """Return the ts of every message this reply used, in order."""
        return [part.ts for part in self._parts]

    async def start(self) -> str:
        """Post the placeholder and start the flusher; return the message ts."""
        response = await self._post(self.placeholder)
        self._parts.append(_Part(ts=response, sent=self.placeholder))
        self._task = asyncio.create_task(self._run(), name=f"reply-{response}")
        return response

    async def adopt(self, ts: str, shown: str = "") -> None:
        """Continue an existing message (after a restart) instead of posting a new one."""
        self._parts.append(_Part(ts=ts, sent=shown))
        self._task = asyncio.create_task(self._run(), name=f"reply-{ts}")

    def update(self, text: str, status: str | None = None) -> None:
        """Show `text` (the whole answer so far) and an optional status line, soon."""
        if text == self._text and status == self._status:
            return
        self._text, self._status = text, status
        self._dirty.set()

    async def finish(self, text: str) -> None:
        """Show the final `text`; returns once the last edit has landed (or failed for good)."""
        self._text, self._status, self._closing = text, None, True
        self._dirty.set()
        if self._task is not None:
            await self._task

    async def abort(self) -> None:
        """Stop the flusher without a final edit."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            await self._dirty.wait()
            delay = self._next_at - self.clock.now()
            if delay > 0:
                await self.clock.sleep(delay)
            self._dirty.clear()
            final = self._closing
            try:
                await self._flush(final)
            except Exception:
                if final:
                    raise
                logger.exception("intermediate edit failed; the next one carries the text")
            if final:
                return

    async def _flush(self, final: bool) -> None:
        await self._roll_over(final)
        view = self._view(final)
        part = self._parts[-1]
        if view == part.sent:
            return
        self._next_at = self.clock.now() + self.interval
        response = await self.writer.call(
            self.target.team_id,
            "chat.update",
            must_land=final,
            channel=self.target.channel,
            ts=part.ts,
            markdown_text=view,
        )
        if response is not None:
            part.sent = view
            self.edits += 1

    def _view(self, final: bool) -> str:
        body = self._prefix + self._text[self._offset :]
        if self._status and not final:
            body = f"{body}\n\n{self._status}" if body.strip() else self._status
        return body if body.strip() else self.placeholder

    async def _roll_over(self, final: bool) -> None:
        """Close the current message at a safe boundary while the answer outgrows it."""
        room = self.limit - (0 if final else 200)  # keep space for a status line
        while len(self._prefix) + len(self._text) - self._offset > room:
            rest = self._text[self._offset :]
            cut = split_point(rest, max(1, room - len(self._prefix) - FENCE_SLACK))
            part_text, next_prefix = close_part(self._prefix + rest[:cut])
            current = self._parts[-1]
            if part_text != current.sent:
                await self.writer.call(
                    self.target.team_id,
                    "chat.update",
                    channel=self.target.channel,
                    ts=current.ts,
                    markdown_text=part_text,
                )
                current.sent = part_text
                self.edits += 1
            self._offset += cut
            self._prefix = next_prefix
            body = self._view(final)
            ts = await self._post(body)
            self._parts.append(_Part(ts=ts, sent=body))
            self._next_at = self.clock.now() + self.interval

    async def _post(self, text: str) -> str:
        response = await self.writer.call(
            self.target.team_id,
            "chat.postMessage",
            channel=self.target.channel,
            thread_ts=self.target.thread_ts,
            markdown_text=text,
        )
        assert response is not None
        return str(response["ts"])
