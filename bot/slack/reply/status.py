"""The loading status under a DM or assistant thread (`assistant.threads.setStatus`).

A thread with an agent session (`bot.slack.reply.session`) shows none: its `processing`
status is Slack's own loading indicator, with its Stop button.

In DMs and assistant threads the status says what the bot is doing ("is thinking…",
"is running `search`…") and is cleared when answer text arrives. In channels the
placeholder message shows the same thing, so no status is set there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bot import texts, texts_tools
from bot.slack.reply.session import ThreadSession
from bot.slack.writer import Writer

logger = logging.getLogger(__name__)


class ThreadStatus:
    """Show the bot's loading status under a DM or assistant thread, in order, off the hot path."""

    def __init__(
        self,
        writer: Writer,
        team_id: str,
        channel: str,
        thread_ts: str,
        *,
        enabled: bool,
        session: Callable[[], ThreadSession] | None = None,
    ) -> None:
        self.writer = writer
        self.team_id = team_id
        self.channel = channel
        self.thread_ts = thread_ts
        self.enabled = enabled and bool(thread_ts)
        self.session = session  # an agent session shows the work instead (Slack's own status)
        self.shown = ""
        self._last: asyncio.Task[None] | None = None

    def thinking(self, seconds: float | None = None) -> None:
        """Say the bot is thinking (and for how long, while a reasoning model reasons)."""
        self._set(texts.STATUS_THINKING if seconds is None else texts.status_thinking_for(seconds))

    def running(self, names: str) -> None:
        """Say which tools run."""
        self._set(texts.status_running(names))

    def waiting(self, names: str) -> None:
        """Say which tool calls wait for a person's approval."""
        self._set(texts_tools.status_approval(names))

    def text_arrived(self) -> None:
        """Clear the status: the answer itself shows progress now."""
        if self.shown:
            self._set("")

    async def close(self) -> None:
        """Clear any status and wait for the last call."""
        self.text_arrived()
        if self._last is not None:
            with contextlib.suppress(Exception):
                await self._last

    def _set(self, status: str) -> None:
        if not self.enabled or status == self.shown:
            return
        self.shown = status
        self._last = asyncio.create_task(self._send(status, self._last))

    async def _send(self, status: str, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            with contextlib.suppress(Exception):
                await previous
        if self.enabled and self.session is not None and await self.session().is_agent():
            self.enabled = False
        if not self.enabled:
            return
        try:
            await self.writer.call(
                self.team_id,
                "assistant.threads.setStatus",
                must_land=False,
                channel_id=self.channel,
                thread_ts=self.thread_ts,
                status=status,
            )
        except Exception as exc:  # noqa: BLE001 - a status is decoration; never fail a turn
            # Plain DMs outside assistant threads refuse it: stop trying for this turn.
            self.enabled = False
            logger.info("no assistant status in %s (%s)", self.channel, type(exc).__name__)
