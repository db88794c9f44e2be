"""One tool round: run the calls the model asked for and store their results."""

from __future__ import annotations

import logging
from typing import Any

from bot import texts
from bot.db.records import NewMessage, ReplyStatus, StoredMessage
from bot.llm.events import (
    ToolCallsReady,
)
from bot.tools import images as tool_images
from bot.tools.mcp.choice import only_servers
from bot.tools.registry import ToolContext, ToolRegistry
from bot.turns.approved_tools import run_calls
from bot.turns.turn_state import Stopped, TurnState

logger = logging.getLogger(__name__)


class ToolRound(TurnState):
    """Run a round's tool calls; the model reads their results in the next round."""

    async def _run_tools(self, event: ToolCallsReady, *, stored: bool = False) -> None:
        deps = self.deps
        self._thought()
        calls = [call.as_message() for call in event.calls]
        await self._saved()
        # The row stays `streaming` until the results are stored with it (`completes`):
        # killed while the tools run, the reply is resumed, and the model asks again.
        ours = stored or await deps.store.set_reply(
            self.row_id,
            content=self.round_text,
            tool_calls=calls,
            provider_fields=event.provider_fields,
        )
        if not ours:  # another replica took the reply over: run nothing, write nothing more
            logger.warning("reply %s was taken over by another replica", self.reply.ts)
            self._lost = True
            self.reply.stopped.set()
            raise Stopped
        names = ", ".join(f"`{name}`" for name in dict.fromkeys(c.name for c in event.calls))
        self.reply.update(self.shown, status=texts.tool_status(names))
        self.status.running(names)
        self.progress.tools_started(event.calls)
        with tool_images.collecting() as self.images:
            results = await run_calls(
                self, self._offered_tools(), event.calls, self._tool_context()
            )
        if results is None:  # another replica took the round over: see `_end`
            raise Stopped
        self.observed.tools(event.calls, results)
        self.progress.tools_done(event.calls, results)
        rows = []
        for call, result in zip(event.calls, results, strict=True):
            if result.stored is not None:  # used in this turn only (search results)
                self.unstored[call.id] = result.text
            kept = result.text if result.stored is None else result.stored
            rows.append(NewMessage("tool", kept, tool_call_id=call.id))
        rows.append(
            NewMessage("assistant", "", slack_ts=self.reply.ts, status=ReplyStatus.STREAMING)
        )
        ids = await deps.store.append(self.key, rows, completes=self.row_id)
        if not ids:  # taken over while the tools ran
            self._lost = True
            self.reply.stopped.set()
            raise Stopped
        await self.suspension.done()  # its approvals are done: no sweep carries it on
        self._remember_round(calls, event, ids[:-1], rows[:-1])
        self.row_id = ids[-1]
        self.round_text = ""
        self.reply.update(self.shown, status=texts.tool_status(names, done=True))

    def _remember_round(
        self,
        calls: list[dict[str, Any]],
        event: ToolCallsReady,
        ids: list[int],
        results: list[NewMessage],
    ) -> None:
        """Bring the thread read at the first round up to date, as a new read would return it."""
        if self.thread is None:
            return
        ended = [m for m in self.thread if m.id == self.row_id]
        asked = StoredMessage(
            self.row_id,
            "assistant",
            self.round_text,
            slack_ts=self.reply.ts,
            tool_calls=calls,
            status=ReplyStatus.COMPLETE,
            provider_fields=event.provider_fields or (ended[0].provider_fields if ended else None),
        )
        answered = [
            StoredMessage(row_id, "tool", row.content, tool_call_id=row.tool_call_id)
            for row_id, row in zip(ids, results, strict=True)
        ]
        kept = [m for m in self.thread if m.id != self.row_id]
        self.thread = [*kept, asked, *answered][-self.deps.config.history_rows :]

    def _tool_context(self) -> ToolContext:
        return ToolContext(
            team_id=self.key.team_id,
            channel_id=self.key.channel_id,
            thread_ts=self.key.thread_ts,
            user_id=self.request.user_id,
            client=self.deps.client,
            participants=self.participants,
            action_token=self.request.action_token,
            search_token=self.deps.config.search_user_token,
        )

    def _offered_tools(self) -> ToolRegistry:
        """Return the tools this turn offers (its channel's MCP choice, tools it can use)."""
        chosen = self.deps.tools.only(only_servers(self.settings.mcp_servers))
        return chosen.offered_in(self._tool_context())
