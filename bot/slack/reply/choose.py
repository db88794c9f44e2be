"""Choose how a reply is shown: one message edited in place, or Slack's native stream.

`STREAM_MODE=update` edits with `chat.update` everywhere; `native` streams everywhere
(a top-level DM message gets its answer as a thread reply, since streams are always thread
replies); `auto` streams natively only in DM threads, which includes assistant threads, and
edits elsewhere. In a channel only the recipient of a native stream sees it grow, everyone
else sees it when it ends, and a top-level DM answer would move into a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot.clock import Clock
from bot.slack.budget import EditBudget, Limit
from bot.slack.reply.native import NativeReply, Source
from bot.slack.reply.update import ReplyTarget, StreamingReply
from bot.slack.writer import Writer

StreamMode = Literal["update", "native", "auto"]


class Reply(Protocol):
    """What a turn needs from the message it streams into."""

    stopped: asyncio.Event  # set when the user stopped the reply in Slack
    # Called once a new message of the reply is posted, so the turn saves where it starts.
    on_roll: Callable[[], Awaitable[None]] | None

    @property
    def ts(self) -> str | None: ...

    @property
    def layout(self) -> list[list[Any]] | None:
        """Return [ts, start in the answer, reopened fence] per message, if known (recovery)."""

    @property
    def message_ts(self) -> list[str]: ...

    def layout_saved(self, layout: list[list[Any]]) -> None:
        """Note that `layout` was stored: the messages it names may show Stop."""

    async def start(self) -> str: ...

    def update(self, text: str, status: str | None = None) -> None: ...

    def task(
        self, task_id: str, title: str, status: str, sources: Sequence[Source] = ()
    ) -> None: ...

    def offer_stop(self, value: str) -> None:
        """Show a Stop button (its value names the turn) while the reply streams."""

    def offer_feedback(self, feedback_id: int) -> None:
        """Show feedback buttons on the finished reply, if it offered Stop."""

    async def finish(self, text: str) -> None: ...

    async def abort(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ReplyStyle:
    """The streaming knobs from Settings."""

    mode: StreamMode = "update"
    update_interval: float = 1.0
    native_interval: float = 0.5
    limit: int = 3900


def budget_limits(
    edits_per_minute: float, edit_burst: int, appends_per_minute: float, append_burst: int
) -> dict[str, Limit]:
    """Return the budgeted methods: chat.update (Tier 3) and chat.appendStream (Tier 4)."""
    return {
        "chat.update": Limit(edits_per_minute, edit_burst),
        "chat.appendStream": Limit(appends_per_minute, append_burst),
    }


def streams_natively(mode: StreamMode, channel: str, thread_ts: str) -> bool:
    """Tell whether a reply in `channel` (and `thread_ts`, "" for top level) streams natively."""
    if mode == "native":
        return True
    return mode == "auto" and channel.startswith("D") and bool(thread_ts)


def make_reply(
    style: ReplyStyle,
    *,
    writer: Writer,
    budget: EditBudget | None,
    clock: Clock,
    target: ReplyTarget,
    message_ts: str,
    user_id: str,
) -> Reply:
    """Build the reply for a message, in the mode `style` asks for."""
    if streams_natively(style.mode, target.channel, target.thread_ts):
        return NativeReply(
            writer=writer,
            target=ReplyTarget(
                target.team_id, target.channel, target.thread_ts or message_ts, target.asker
            ),
            recipient_user_id=user_id,
            recipient_team_id=target.team_id,
            interval=style.native_interval,
            limit=style.limit,
            update_interval=style.update_interval,
            clock=clock,
            budget=budget,
        )
    return StreamingReply(
        writer=writer,
        target=target,
        interval=style.update_interval,
        limit=style.limit,
        clock=clock,
        budget=budget,
    )
