"""The model loop of one answer: rounds, tools, the Slack reply and the stored message."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from bot import texts
from bot.clock import Clock
from bot.db.store import NewMessage, ReplyStatus, Store, ThreadKey
from bot.errors import ShuttingDown, StorageUnavailable, UserFacingError
from bot.files import parts
from bot.files.reader import FileReader
from bot.llm import history, template
from bot.llm.client import ChatModel
from bot.llm.errors import ContextTooLong, ModelError, StreamBroken
from bot.llm.events import (
    ReasoningDelta,
    RoundDone,
    StreamRetry,
    TextDelta,
    TextRetracted,
    ToolCallsReady,
)
from bot.slack.reply.choose import Reply
from bot.slack.reply.native import NativeReply
from bot.slack.reply.status import ThreadStatus
from bot.slack.writer import Writer
from bot.telemetry.metrics import Metrics
from bot.tools import images as tool_images
from bot.tools.mcp.choice import only_servers
from bot.tools.registry import ToolContext, ToolRegistry
from bot.turns import chat_history
from bot.turns.channel_settings import TurnSettings
from bot.turns.chat_history import DisplayNames, to_chat  # noqa: F401 - to_chat for bench
from bot.turns.progress import TurnProgress
from bot.turns.request import TurnConfig, TurnRequest
from bot.usage.meter import UsageMeter
from bot.usage.tracker import UsageTracker

logger = logging.getLogger(__name__)

PERSIST_EVERY = 2.0  # seconds between saves of a streaming answer (for crash recovery)
FINAL_SAVE_BACKOFF = (0.5, 1.0, 2.0, 4.0)  # retries of the last save while the database is away
ROLL_SAVE_WAIT = 2.0  # seconds a rollover waits for its save before the Stop button shows

THINKING_STEP = 5  # seconds between updates of the thinking task card and thread status


class _Stopped(Exception):  # noqa: N818 - internal control flow, never leaves this module
    """The user stopped the reply in Slack."""


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
    answer_slot: Callable[[], AbstractAsyncContextManager[None]]  # a streaming slot (FIFO)
    names: DisplayNames | None = None  # labels who said what in threads with several people
    usage: UsageTracker | None = None  # usage records and limits
    files: FileReader | None = None  # reads files on questions; knows which models are blind


class Turn:
    """The model loop of one answer, with its Slack reply and stored assistant message."""

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
        # Only DMs (assistant threads included) show a loading status under the thread.
        self.status = ThreadStatus(
            deps.writer,
            request.team_id,
            request.channel,
            request.thread_ts or request.message_ts,
            enabled=request.channel.startswith("D"),
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
        self._saved_at = 0.0
        self._saving: asyncio.Task[None] | None = None  # a progress save in flight
        self.observed = deps.metrics.turn()
        self._deadline: asyncio.Timeout | None = None  # TURN_DEADLINE, once streaming starts
        self.notes: list[str] = []  # files not read (or cut), one line each, under the reply
        self.blind = False  # the model refused image parts: send none (VISION=auto)
        self.participants = frozenset([request.user_id])  # who wrote in the thread (tools)
        self._thinking_since: float | None = None  # when the current reasoning began
        self._thinking_shown = -1  # the whole seconds last shown
        reply.on_roll = self._save_soon  # save where each message starts as soon as it exists
        self._lost = False  # another replica took the reply over: it is theirs to end

    def stop(self) -> None:
        """Stop this turn: the model request is closed and the reply says it was stopped."""
        self.reply.stopped.set()

    async def run(self) -> None:
        """Answer: run the model rounds, end the reply, store how it ended."""
        status = ReplyStatus.COMPLETE
        note = ""
        try:
            self.status.thinking()
            note = await self._rounds_unless_stopped()
        except _Stopped:
            status, note = ReplyStatus.STOPPED, texts.STOPPED_BY_USER
            logger.info("reply %s was stopped by the user", self.reply.ts)
        except TimeoutError:
            if self._deadline is None or not self._deadline.expired():
                raise
            status, note = ReplyStatus.INTERRUPTED, texts.TURN_TIMED_OUT
            logger.warning("turn in %s hit its deadline", self.key.channel_id)
        except ShuttingDown as exc:
            status, note = ReplyStatus.INTERRUPTED, exc.user_message
        except StreamBroken:
            status, note = ReplyStatus.FAILED, texts.STREAM_FAILED
        except UserFacingError as exc:
            status, note = ReplyStatus.FAILED, ("\n\n" if self.shown else "") + exc.user_message
            logger.warning("turn failed: %s", exc)
        except asyncio.CancelledError:
            status, note = ReplyStatus.INTERRUPTED, texts.INTERRUPTED
            await self._end_whole(status, note)
            raise
        except Exception:
            status, note = ReplyStatus.FAILED, ("\n\n" if self.shown else "") + texts.INTERNAL_ERROR
            logger.exception("turn failed unexpectedly")
        await self._end_whole(status, note)

    async def _end_whole(self, status: ReplyStatus, note: str) -> None:
        """End the reply even if the turn is cancelled meanwhile (a shutdown's grace ran out):
        a final edit cut midway would leave a complete answer marked interrupted later."""
        ending = asyncio.ensure_future(self._end(status, note))
        try:
            await asyncio.shield(ending)
        except asyncio.CancelledError:
            await asyncio.wait({ending})
            raise

    async def _end(self, status: ReplyStatus, note: str) -> None:
        if self._lost:
            # Another replica took the reply over (this one looked dead) and marked it
            # interrupted; end the message the same way, and leave the row to its owner.
            await self.status.close()
            self.progress.ended(ReplyStatus.INTERRUPTED)
            try:
                # Never strip the front: the reply's offsets count from the answer's start.
                await self.reply.finish(
                    self.shown + texts.INTERRUPTED if self.shown else texts.INTERRUPTED.lstrip()
                )
            except Exception:
                logger.exception("final edit failed")
            self.observed.finish("interrupted")
            await self._record_usage(ReplyStatus.INTERRUPTED)  # the tokens were spent all the same
            return
        final = (self.shown + note) if self.shown else (note.lstrip() or texts.INTERNAL_ERROR)
        await self.status.close()
        self.progress.ended(status)
        if self.notes:
            final += "\n\n" + "\n".join(self.notes)
        if status == ReplyStatus.COMPLETE:
            final += self._finishing_touches()
        try:
            await self.reply.finish(final)
        except Exception:
            logger.exception("final edit failed")
        self.observed.finish(status)
        await self._save_end(status)
        await self._record_usage(status)

    async def _record_usage(self, status: ReplyStatus) -> None:
        if self.deps.usage is not None:
            await self.deps.usage.record(self.meter, status, self.deps.clock.now() - self.started)

    def _finishing_touches(self) -> str:
        """Offer feedback buttons and return the usage footer (if on) for a complete answer."""
        self.reply.offer_feedback(self.row_id)
        if not self.deps.config.usage_footer or not any(self.usage):
            return ""
        prompt, completion = self.usage
        return texts.usage_footer(prompt, completion, self.deps.clock.now() - self.started)

    async def _save_end(self, status: ReplyStatus) -> None:
        """Store how the reply ended, waiting a little for a database that blinked."""
        await self._saved()
        for delay in (*FINAL_SAVE_BACKOFF, None):
            try:
                await self.deps.store.set_reply(self.row_id, content=self.round_text, status=status)
                return
            except StorageUnavailable:
                if delay is None:
                    logger.error("could not record the end of reply %s", self.reply.ts)
                    return
                await self.deps.clock.sleep(delay)

    async def _rounds_unless_stopped(self) -> str:
        """Run the model rounds; close the model request when the user stops the reply."""
        rounds = asyncio.ensure_future(self._rounds_in_slot())
        stopped = asyncio.ensure_future(self.reply.stopped.wait())
        try:
            await asyncio.wait({rounds, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not rounds.done():
                rounds.cancel()
                await asyncio.gather(rounds, return_exceptions=True)
        if rounds.cancelled():
            raise _Stopped
        return rounds.result()

    async def _rounds_in_slot(self) -> str:
        """Wait for a streaming slot, then run the rounds within TURN_DEADLINE.

        The deadline is made once the slot is held (asyncio.timeout fixes its end when it is
        created), so time spent waiting does not count; Stop works while waiting too.
        """
        async with self.deps.answer_slot():
            self.started = self.deps.clock.now()
            self._deadline = asyncio.timeout(self.deps.config.turn_deadline)
            async with self._deadline:
                return await self._rounds()

    async def _rounds(self) -> str:
        deps = self.deps
        budget = deps.config.history_budget
        retried_context = False
        rounds = 0
        while True:
            stored = await deps.store.history(self.key, limit=deps.config.history_rows)
            self.participants = frozenset(
                [self.request.user_id, *(m.user_id for m in stored if m.user_id)]
            )
            if self.settings.stateless:  # e.g. translation: this message alone, no thread
                asked = [i for i, m in enumerate(stored) if m.slack_ts == self.request.message_ts]
                stored = stored[asked[0] :] if asked else stored
            # An answer that ended empty (a failure, or the tool-round cap) adds nothing.
            kept = [
                m
                for m in stored
                if m.id != self.row_id and (m.role != "assistant" or m.content or m.tool_calls)
            ]
            chat = await chat_history.build(kept, team_id=self.key.team_id, names=deps.names)
            # Strict chat templates (Gemma, Mistral, Llama, Qwen) refuse anything but one
            # system message and alternating turns: merge and fold after fitting.
            messages = template.alternate(history.fit(self.settings.system_prompt, chat, budget))
            # Images the last tool calls returned (TOOL_IMAGES): one user turn after the tool
            # results, in this request only (OpenAI's tool messages carry text alone).
            messages += tool_images.as_messages(self.images)
            self.images = []
            if self.blind or not self._sees_images():
                messages = parts.without_images(messages)
            try:
                outcome = await self._one_round(messages)
            except ContextTooLong:
                if retried_context or self.round_text:
                    raise
                retried_context, budget = True, budget // 2
                continue
            except ModelError as exc:
                if not self._blind_now(exc, messages):
                    raise
                continue
            if outcome == "tool_calls":
                rounds += 1
                if rounds >= deps.config.max_tool_rounds:
                    return texts.TOOL_ROUNDS
                continue
            return {"length": texts.LENGTH_LIMIT, "content_filter": texts.CONTENT_FILTERED}.get(
                outcome, ""
            )

    def _sees_images(self) -> bool:
        """Tell whether images (in history too) go to this turn's model (VISION)."""
        reader = self.deps.files
        return reader is None or reader.sees_images(self.settings.model or self.deps.model.model)

    def _blind_now(self, exc: ModelError, messages: list[dict[str, Any]]) -> bool:
        """Tell whether to ask again without images: the server refused them (VISION=auto)."""
        reader = self.deps.files
        if reader is None or reader.vision != "auto" or self.blind or self.round_text:
            return False
        if not parts.has_images(messages) or not parts.refused_images(exc):
            return False
        logger.warning("the model refused image parts (%s); asking again without", exc)
        reader.blind_models.add(self.settings.model or self.deps.model.model)
        self.blind = True
        self.notes.append(texts.VISION_REFUSED)
        return True

    async def _one_round(self, messages: list[dict[str, Any]]) -> str:
        deps = self.deps
        offered = deps.tools.only(only_servers(self.settings.mcp_servers))
        tools = (offered.specs() or None) if self.settings.tools else None
        calls: ToolCallsReady | None = None
        finish = "stop"
        self.meter.asked(messages, tools)
        async for event in deps.model.stream(
            messages,
            tools=tools,
            model=self.settings.model,
            temperature=self.settings.temperature,
            reasoning_effort=self.settings.reasoning_effort,
        ):
            self.observed.saw(event)
            self.meter.saw(event)
            if isinstance(event, ReasoningDelta):
                self._thinking()
            elif isinstance(event, TextRetracted):
                # It was reasoning after all (a lone </think>): never stored as the answer,
                # and taken back from Slack unless a native stream already appended it.
                cut = len(event.text)
                self.round_text = self.round_text[:-cut] if cut else self.round_text
                if cut and not isinstance(self.reply, NativeReply):
                    self.shown = self.shown[:-cut]
                    self.reply.update(self.shown)
                self._thinking()
            elif isinstance(event, TextDelta):
                self._thought()
                self.status.text_arrived()
                if not self.round_text and self.shown and not self.shown.endswith(("\n", " ")):
                    self.shown += "\n\n"  # a new round after tools: a paragraph of its own
                self.round_text += event.text
                self.shown += event.text
                self.reply.update(self.shown)
                self._persist_maybe()
            elif isinstance(event, StreamRetry):
                logger.info("resuming stream (attempt %d)", event.attempt)
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

    async def _run_tools(self, event: ToolCallsReady) -> None:
        deps = self.deps
        self._thought()
        calls = [call.as_message() for call in event.calls]
        await self._saved()
        ours = await deps.store.set_reply(
            self.row_id,
            content=self.round_text,
            tool_calls=calls,
            status=ReplyStatus.COMPLETE,
            provider_fields=event.provider_fields,
        )
        if not ours:  # another replica took the reply over: run nothing, write nothing more
            logger.warning("reply %s was taken over by another replica", self.reply.ts)
            self._lost = True
            self.reply.stopped.set()
            raise _Stopped
        names = ", ".join(f"`{name}`" for name in dict.fromkeys(c.name for c in event.calls))
        self.reply.update(self.shown, status=texts.tool_status(names))
        self.status.running(names)
        self.progress.tools_started(event.calls)
        ctx = ToolContext(
            team_id=self.key.team_id,
            channel_id=self.key.channel_id,
            thread_ts=self.key.thread_ts,
            user_id=self.request.user_id,
            client=deps.client,
            participants=self.participants,
        )
        offered = deps.tools.only(only_servers(self.settings.mcp_servers))
        with tool_images.collecting() as self.images:
            results = await offered.run_all(event.calls, ctx)
        self.observed.tools(event.calls, results)
        self.progress.tools_done(event.calls, results)
        rows = [
            NewMessage("tool", result.text, tool_call_id=call.id)
            for call, result in zip(event.calls, results, strict=True)
        ]
        rows.append(
            NewMessage("assistant", "", slack_ts=self.reply.ts, status=ReplyStatus.STREAMING)
        )
        ids = await deps.store.append(self.key, rows)
        self.row_id = ids[-1]
        self.round_text = ""
        self.reply.update(self.shown, status=texts.tool_status(names, done=True))

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
        """End the thinking display: the answer (or a tool call) came."""
        if self._thinking_since is not None:
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
        except StorageUnavailable:
            pass  # the final save reports it; the answer keeps streaming

    async def _saved(self) -> None:
        """Wait for a progress save in flight, so that a later write of the row lands last."""
        if self._saving is not None:
            await asyncio.wait({self._saving})
