"""What a turn is asked to do: the Slack message to answer, and the knobs from Settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.slack.reply.choose import ReplyStyle

STEP_THREAD = "step-"  # a Workflow Builder step's conversation: `step-<function_execution_id>`


def step_thread(execution_id: str) -> str:
    """Return the stored thread of a workflow step's run (no Slack thread has such a ts)."""
    return f"{STEP_THREAD}{execution_id}"[:32]


def step_execution(thread_ts: str) -> str | None:
    """Return the `function_execution_id` of a step's stored thread; None for a Slack thread."""
    return thread_ts[len(STEP_THREAD) :] if thread_ts.startswith(STEP_THREAD) else None


@dataclass(frozen=True, slots=True)
class TurnRequest:
    """A Slack message the bot decided to answer."""

    team_id: str
    channel: str
    thread_ts: str
    message_ts: str
    user_id: str
    text: str
    event_id: str | None = None
    bot_user_id: str = ""  # the bot's user in this workspace (differs per OAuth install)
    files: tuple[dict[str, Any], ...] = ()  # Slack file objects on the message (bot/files)
    # The event's short-lived `action_token` (Real-time Search with the asker's access);
    # never stored, never logged.
    action_token: str = field(default="", repr=False)


@dataclass(slots=True)
class TurnConfig:
    """The knobs of a turn, taken from Settings (`bot.wiring.builders.turn_config`)."""

    system_prompt: str
    reply: ReplyStyle = field(default_factory=ReplyStyle)  # how the answer is shown
    history_budget: int = 8000
    history_rows: int = 400
    max_tool_rounds: int = 8
    turn_deadline: float = 600.0
    max_concurrent: int = 0  # answers streaming at once; the rest wait their turn (0: no cap)
    max_concurrent_per_user: int = 0  # one person's answers streaming at once (0: no cap)
    reply_buttons: bool = True  # Stop while streaming, feedback when done (update mode)
    usage_footer: bool = False  # tokens, time and tokens/s under a finished answer
    reorder_window: float = 0.0  # seconds a follow-up waits for earlier messages in flight
    search_user_token: str = field(default="", repr=False)  # SLACK_SEARCH_USER_TOKEN
