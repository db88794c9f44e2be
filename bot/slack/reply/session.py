"""One turn's agent session: `processing` (with a title) while it works, `active` once done.

The session is what Slack's agent platform shows for the thread: a title, a status, and
while `processing` Slack's own Stop button. The status never moves by itself, so every
turn ends it, whatever way the turn ended (answered, stopped, failed): `active`. A native
stream ends it with `chat.stopStream`'s `session_status`; otherwise one `setStatus` call
does. While a turn waits on its asker (an approval), `suspend()` and `resume()` say so.
"""

from __future__ import annotations

import asyncio
import logging
import re

from bot.slack.sessions import AgentSessions, SessionStatus

logger = logging.getLogger(__name__)

TITLE_CHARS = 60
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def title_from(question: str, fallback: str = "New conversation") -> str:
    """Return a thread title: the first line of the first question, shortened."""
    line = next((part.strip() for part in question.splitlines() if part.strip()), "")
    line = _MENTION.sub("", line).strip() or fallback
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


class ThreadSession:
    """The agent session of one thread during one turn (a no-op on assistant threads)."""

    def __init__(
        self,
        sessions: AgentSessions | None,
        team_id: str,
        channel: str,
        thread_ts: str,
        *,
        user_id: str,
        title: str,
    ) -> None:
        self.sessions = sessions
        self.team_id, self.channel, self.thread_ts = team_id, channel, thread_ts
        self.user_id, self.title = user_id, title
        self._begun: asyncio.Task[bool] | None = None
        self._step: asyncio.Task[None] | None = None  # the last `waiting` change, in order
        self.ended = False

    def begin(self) -> None:
        """Set the session `processing` (created with its title if new), off the hot path."""
        if self.sessions is None or self._begun is not None:
            return
        self._begun = asyncio.ensure_future(self._set("processing", title=self.title))

    async def is_agent(self) -> bool:
        """Tell whether this thread shows an agent session (waits for `begin`'s answer)."""
        if self._begun is None:
            return False
        try:
            return await asyncio.shield(self._begun)
        except Exception:  # noqa: BLE001 - a status is decoration
            return False

    async def suspend(self) -> None:
        """The turn waits on its asker (an approval): the session shows `suspended`."""
        if await self.is_agent():
            await self._set("suspended")

    async def resume(self) -> None:
        """The asker answered: the session is `processing` again."""
        if await self.is_agent():
            await self._set("processing")

    def waiting(self, on: bool) -> None:
        """Show `suspended` (on) or `processing` again, after any earlier change, off the hot path."""
        before = self._step

        async def step() -> None:
            if before is not None:
                await asyncio.gather(before, return_exceptions=True)
            try:
                await (self.suspend() if on else self.resume())
            except Exception:  # noqa: BLE001 - a status is decoration
                logger.warning("could not set the agent session of %s", self.thread_ts)

        self._step = asyncio.ensure_future(step())

    async def end(self, *, by_stream: bool = False) -> None:
        """The turn is over: `active`, unless the reply's last stopStream already said so."""
        if self._step is not None:  # a suspended/processing change still on its way first
            await asyncio.gather(self._step, return_exceptions=True)
        if self.ended or not await self.is_agent():
            return
        self.ended = True
        if not by_stream:
            await self._set("active")

    async def _set(self, status: SessionStatus, *, title: str | None = None) -> bool:
        assert self.sessions is not None
        return await self.sessions.set_status(
            self.team_id,
            self.channel,
            self.thread_ts,
            status,
            title=title,
            initiator=self.user_id,
        )
