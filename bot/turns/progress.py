"""What a turn is doing, as task cards on a native stream: the reasoning phase and tool calls.

The model's reasoning shows as a "Thinking" task, in progress from its first reasoning
delta until answer text or a tool call arrives; each tool call is a task of its own. Update-mode
replies ignore tasks (their status line says the same). The turn calls `reasoning()` for
each reasoning delta its model stream reports, so a stream that reports none shows no task.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import texts
from bot.llm.events import ToolCall
from bot.slack.reply.choose import Reply
from bot.tools.registry import ToolResult


class TurnProgress:
    """Report a turn's phases to its reply as task updates, each phase closed exactly once."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self._thinking: str | None = None  # the open reasoning task's id
        self._phases = 0
        self._tools: dict[str, str] = {}  # open tool tasks: id -> tool name

    def reasoning(self, seconds: int | None = None) -> None:
        """The model is reasoning: open a "Thinking" task, or say for how long it has been."""
        title = texts.TASK_THINKING if seconds is None else texts.thinking_title(seconds)
        if self._thinking is None:
            self._phases += 1
            self._thinking = f"reasoning-{self._phases}"
        elif seconds is None:
            return
        self.reply.task(self._thinking, title, "in_progress")

    def answering(self) -> None:
        """Answer text (or a tool call) arrived: the reasoning phase, if any, is complete."""
        if self._thinking is not None:
            self.reply.task(self._thinking, texts.TASK_THOUGHT, "complete")
            self._thinking = None

    def tools_started(self, calls: Sequence[ToolCall]) -> None:
        """Show each tool call as a task in progress."""
        self.answering()
        for call in calls:
            self._tools[call.id] = call.name
            self.reply.task(call.id, call.name, "in_progress")

    def tools_done(self, calls: Sequence[ToolCall], results: Sequence[ToolResult]) -> None:
        """Mark each call complete, or failed when its result is an error for the model."""
        for call, result in zip(calls, results, strict=True):
            self._tools.pop(call.id, None)
            status = "complete" if result.ok else "error"
            self.reply.task(call.id, call.name, status, result.sources)

    def ended(self, status: str) -> None:
        """Close open tasks as the turn ends: a tool cut short (Stop, deadline) is an error."""
        for call_id, name in self._tools.items():
            self.reply.task(call_id, name, "error")
        self._tools.clear()
        if self._thinking is not None:
            done = status == "complete"
            self.reply.task(self._thinking, texts.TASK_THOUGHT, "complete" if done else "error")
            self._thinking = None
