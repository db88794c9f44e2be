"""What one answer holds while it runs, how its stored row is saved, and its thinking display."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from bot import texts
from bot.clock import Clock
from bot.db.records import ReplyStatus, StoredMessage, ThreadKey
from bot.db.store import Store
from bot.errors import StorageUnavailable
from bot.files.reader import FileReader
from bot.llm.client import ChatModel
from bot.llm.events import ToolCallsReady
from bot.slack.reply.choose import Reply
from bot.slack.reply.session import ThreadSession
from bot.slack.reply.status import ThreadStatus
from bot.slack.sessions import AgentSessions
from bot.slack.writer import Writer
from bot.telemetry.metrics import Metrics
from bot.tools.registry import ToolRegistry
from bot.turns.admission import Slot
from bot.turns.approval import Approvals
from bot.turns.approved_tools import Suspension
from bot.turns.channel_settings import TurnSettings
from bot.turns.chat_history import DisplayNames
from bot.turns.progress import TurnProgress
from bot.turns.request import TurnConfig, TurnRequest
from bot.usage.meter import UsageMeter
from bot.usage.reservations import Hold
from bot.usage.tracker import UsageTracker

logger = logging.getLogger(__name__)


PERSIST_EVERY = 2.0  # seconds between saves of a streaming answer (for crash recovery)
FINAL_SAVE_BACKOFF = (0.5, 1.0, 2.0, 4.0)  # then every 4 s: the last save is retried until it lands
# Seconds a rollover waits for its save before streaming on (the new message's Stop button
# waits for the save itself: `StreamingReply.layout_saved`).
ROLL_SAVE_WAIT = 2.0

THINKING_STEP = 5  # seconds between updates of the thinking task card and thread status


class Stopped(Exception):  # noqa: N818 - control flow inside the turn modules
    """The user stopped the reply in Slack."""


class OverLimit(Exception):  # noqa: N818 - control flow inside the turn modules
    """A usage limit stops the answer before its next model request (the sentence)."""


@dataclass(frozen=True, slots=True)
class TurnDeps:
    """What a turn works with, handed over by whoever starts it (`Dispatcher.turn_deps`)."""

    store: Store
    model: ChatModel
    writer: Writer
    client: Any  # the workspace's AsyncWebClient, for tools
    tools: ToolRegistry
    clock: Clock
    metrics: Metrics
    config: TurnConfig
    # a streaming slot for an asker ("team:user"), handed out person by person
    answer_slot: Callable[[str], AbstractAsyncContextManager[Slot]]
    names: DisplayNames | None = None  # labels who said what in threads with several people
    usage: UsageTracker | None = None  # usage records and limits
    files: FileReader | None = None  # reads files on questions; knows which models are blind
    approvals: Approvals | None = None  # tool calls that wait for a person's Approve
    sessions: AgentSessions | None = None  # agent sessions or assistant threads, per workspace


class TurnState:
    """The state of one answer; the row saves and the thinking display work on it."""

    def __init__(
        self,
        deps: TurnDeps,
        request: TurnRequest,
        key: ThreadKey,
        reply: Reply,
        settings: TurnSettings,
        *,
        row_id: int,
    ) -> None:
        self.deps = deps
        self.request = request
        self.key = key
        self.reply = reply
        self.settings = settings
        # The thread's agent session; the dispatcher begins it when the placeholder shows.
        self.session = ThreadSession(
            None, request.team_id, request.channel, "", user_id=request.user_id, title=""
        )
        # Only DMs (assistant threads included) show a loading status under the thread, and
        # only without an agent session (its `processing` shows the bot at work).
        self.status = ThreadStatus(
            deps.writer,
            request.team_id,
            request.channel,
            request.thread_ts or request.message_ts,
            enabled=request.channel.startswith("D"),
            session=lambda: self.session,
        )
        self.progress = TurnProgress(reply)  # task cards on native streams
        self.started = deps.clock.now()
        self.usage = [0, 0]  # prompt and completion tokens the server reported
        self.meter = UsageMeter(  # what this answer costs, for the usage records
            settings.model or deps.model.model, key, request.user_id, request.message_ts
        )
        self.shown = ""  # everything shown in Slack for this turn
        self.round_text = ""  # text of the current model round
        self.images: list[dict[str, Any]] = []  # image parts the last tool calls returned
        self.row_id = row_id  # the stored assistant message of the current round
        self._saved_at = self.started  # the first save comes PERSIST_EVERY in, as the next
        self._saving: asyncio.Task[None] | None = None  # a progress save in flight
        self.observed = deps.metrics.turn()
        self._deadline: asyncio.Timeout | None = None  # TURN_DEADLINE, once streaming starts
        self.notes: list[str] = []  # files not read (or cut), one line each, under the reply
        self.blind = False  # the model refused image parts: send none (VISION=auto)
        self.participants = frozenset([request.user_id])  # who wrote in the thread (tools)
        # The thread as read at the first round, kept current through tool rounds: one read
        # per turn (nothing else writes to a thread while its turn holds the thread's lock).
        self.thread: list[StoredMessage] | None = None
        self._thinking_since: float | None = None  # when the current reasoning began
        self._thinking_shown = -1  # the whole seconds last shown
        reply.on_roll = self._save_soon  # save where each message starts as soon as it exists
        self._lost = False  # another replica took the reply over: it is theirs to end
        self.handed_over = False  # another replica carries this answer on (after an approval)
        self.resuming = ""  # the round's text a dead process showed: the first round goes on
        self.resumed: ToolCallsReady | None = None  # a stored round to run first (resume)
        self.claimed_round: int | None = None  # the round `resume` claimed the running of
        self.suspension = Suspension(self)  # waiting for a person's approval
        self.slot: Slot | None = None  # the streaming slot, while held
        self.outcome = ""  # how the turn ended, a ReplyStatus value (a workflow step reads it)
        self.unstored: dict[str, str] = {}  # tool results used in this turn, never stored
        self.hold: Hold | None = None  # what admission reserved against the usage limits

    def stop(self) -> None:
        """Stop this turn: the model request is closed and the reply says it was stopped."""
        self.reply.stopped.set()

    async def _save_end(self, status: ReplyStatus) -> None:
        """Store how the reply ended, retrying until the database takes it.

        Killed before it lands, the row stays `streaming` while Slack shows the final
        answer: recovery reads the message back and keeps it (`bot.turns.recovery`).
        """
        await self._saved()
        for attempt in itertools.count():
            try:
                await self.deps.store.set_reply(self.row_id, content=self.round_text, status=status)
                return
            except StorageUnavailable:
                if attempt == len(FINAL_SAVE_BACKOFF):
                    logger.error("could not record the end of reply %s; retrying", self.reply.ts)
                await self.deps.clock.sleep(FINAL_SAVE_BACKOFF[min(attempt, 3)])

    async def _hand_over(self) -> None:
        """Save where the reply stands and stop showing it; the row stays `streaming`.

        This replica deregisters as it stops, so another one resumes the reply at once (or
        this one, restarted under the same REPLICA_ID); the message keeps its Stop button
        until then. A save that fails leaves the last periodic save to resume from.
        """
        await self.reply.abort()
        await self._saved()
        if self._lost:
            return
        # No message to resume into (a workflow step: its listener fails the step itself).
        ended = ReplyStatus.INTERRUPTED if self.reply.ts is None else None
        try:
            await self.deps.store.set_reply(
                self.row_id, content=self.round_text, parts=self.reply.layout, status=ended
            )
        except StorageUnavailable:
            logger.warning("could not save reply %s before stopping", self.reply.ts)
        self.observed.finish("interrupted")

    def _thinking(self) -> None:
        """Show that the model is reasoning, and for how long ("Thinking… 12 s")."""
        now = self.deps.clock.now()
        if self._thinking_since is None:
            self._thinking_since = now
        seconds = int(now - self._thinking_since)
        if seconds == self._thinking_shown:
            return
        self._thinking_shown = seconds
        self.reply.update(self.shown, status=texts.thinking_for(seconds))
        if seconds % THINKING_STEP == 0:  # the task card and the thread status: less often
            self.progress.reasoning(seconds)
            self.status.thinking(seconds)

    def _thought(self) -> None:
        """End the thinking display: the answer (or a tool call) came (called per delta)."""
        if self._thinking_since is not None:  # the task card shows reasoning only then
            self._thinking_since, self._thinking_shown = None, -1
            self.progress.answering()

    def _persist_maybe(self) -> None:
        """Save the answer so far now and then, off the stream's path (one save at a time)."""
        now = self.deps.clock.now()
        if now - self._saved_at < PERSIST_EVERY:
            return
        if self._saving is not None and not self._saving.done():
            return  # a busy database must not hold up the stream; the next delta tries again
        self._saved_at = now
        self._saving = asyncio.ensure_future(self._save_progress(self.row_id, self.round_text))

    async def _save_soon(self) -> None:
        """Save now where each message of the reply starts (a new one was posted)."""
        await self._saved()
        self._saved_at = self.deps.clock.now()
        self._saving = asyncio.ensure_future(self._save_progress(self.row_id, self.round_text))
        # A database that does not answer must not hold the reply up for long; the next
        # periodic save carries the parts too.
        await asyncio.wait({self._saving}, timeout=ROLL_SAVE_WAIT)

    async def _save_progress(self, row_id: int, content: str) -> None:
        try:
            parts = self.reply.layout
            if not await self.deps.store.set_reply(row_id, content=content, parts=parts):
                logger.warning("reply %s was taken over by another replica", self.reply.ts)
                self._lost = True
                self.reply.stopped.set()  # ends the model request; see `_end`
            elif parts:
                self.reply.layout_saved(parts)  # its new messages may show Stop now
        except StorageUnavailable:
            pass  # the final save reports it; the answer keeps streaming

    async def _saved(self) -> None:
        """Wait for a progress save in flight, so that a later write of the row lands last."""
        if self._saving is not None:
            await asyncio.wait({self._saving})
