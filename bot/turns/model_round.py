"""One model round: stream the model's answer into the reply, then run any tool calls."""

from __future__ import annotations

import logging
from typing import Any

from bot.llm.events import (
    ReasoningDelta,
    RoundDone,
    StreamRetry,
    TextDelta,
    TextRetracted,
    ToolCallsReady,
)
from bot.slack.reply.native import NativeReply
from bot.turns.tool_round import ToolRound
from bot.turns.turn_state import OverLimit

logger = logging.getLogger(__name__)


class ModelRound(ToolRound):
    """Stream one request to the model into the Slack reply."""

    async def _one_round(self, messages: list[dict[str, Any]]) -> str:
        deps = self.deps
        offered = self._offered_tools()
        tools = (offered.specs() or None) if self.settings.tools else None
        calls: ToolCallsReady | None = None
        finish = "stop"
        self.meter.asked(messages, tools)
        await self._hold_request()
        resume, self.resuming = self.resuming, ""
        async for event in deps.model.stream(
            messages,
            tools=tools,
            model=self.settings.model,
            temperature=self.settings.temperature,
            reasoning_effort=self.settings.reasoning_effort,
            resume=resume,
        ):
            self.observed.saw(event)
            self.meter.saw(event)
            if type(event) is TextDelta:  # nearly every event: checked first
                self._thought()
                self.status.text_arrived()
                if not self.round_text and self.shown and not self.shown.endswith(("\n", " ")):
                    self.shown += "\n\n"  # a new round after tools: a paragraph of its own
                self.round_text += event.text
                self.shown += event.text
                self.reply.update(self.shown)
                self._persist_maybe()
            elif isinstance(event, ReasoningDelta):
                self._thinking()
            elif isinstance(event, TextRetracted):
                # It was reasoning after all (a lone </think>): never stored as the answer,
                # and taken back from Slack (a native stream goes on with chat.update), unless
                # a native stream already fell back to chat.update after a fault: that one
                # keeps it (docs/reliability.md).
                cut = len(event.text)
                self.round_text = self.round_text[:-cut] if cut else self.round_text
                reply = self.reply
                if cut and not (isinstance(reply, NativeReply) and not reply.takes_back):
                    self.shown = self.shown[:-cut]
                    self.reply.update(self.shown)
                self._thinking()
            elif isinstance(event, StreamRetry):
                logger.info("resuming stream (attempt %d)", event.attempt)
                await self._hold_request()  # a resumed attempt is a request of its own
            elif isinstance(event, ToolCallsReady):
                calls = event  # run once the stream has ended, whatever its finish_reason
            elif isinstance(event, RoundDone):
                finish = event.finish_reason
                if event.usage:
                    self.usage[0] += int(event.usage.get("prompt_tokens") or 0)
                    self.usage[1] += int(event.usage.get("completion_tokens") or 0)
        if calls is not None:
            await self._run_tools(calls)
            return "tool_calls"
        return finish

    async def _hold_request(self) -> None:
        """Settle the usage so far and hold the next request; raise OverLimit at a limit."""
        if self.hold is not None and self.deps.usage is not None:
            if reached := await self.deps.usage.next_round(self.hold, self.meter):
                raise OverLimit(reached.sentence())
