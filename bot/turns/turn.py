"""The model loop of one answer: rounds, tools, the Slack reply and the stored message."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from bot import texts
from bot.db.store import NewMessage, StoredMessage, ThreadKey
from bot.errors import ShuttingDown, StorageUnavailable, UserFacingError
from bot.llm import history
from bot.llm.errors import ContextTooLong, StreamBroken
from bot.llm.events import StreamRetry, TextDelta, ToolCallsReady, TurnDone
from bot.slack.reply.choose import Reply
from bot.slack.reply.markup import ReplyMarkup
from bot.slack.reply.status import ThreadStatus
from bot.tools.registry import ToolContext
from bot.turns.channel_settings import TurnSettings

if TYPE_CHECKING:
    from bot.turns.dispatcher import Conversation, TurnRequest

logger = logging.getLogger(__name__)

PERSIST_EVERY = 2.0  # seconds between saves of a streaming answer (for crash recovery)
FINAL_SAVE_BACKOFF = (0.5, 1.0, 2.0, 4.0)  # retries of the last save while the database is away
ROLL_SAVE_WAIT = 2.0  # seconds a rollover waits for its save before the Stop button shows


def to_chat(message: StoredMessage) -> dict[str, Any]:
    """Render a stored message as an OpenAI chat message."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    chat: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        chat["tool_calls"] = message.tool_calls
        chat["content"] = message.content or None  # the API's shape for "only tool calls"
    return chat


class _Stopped(Exception):
    """The user stopped the reply in Slack."""


class Turn:
    """The model loop of one answer, with its Slack reply and stored assistant message."""

    def __init__(
        self,
        owner: Conversation,
        request: TurnRequest,
        key: ThreadKey,
        reply: Reply,
        settings: TurnSettings,
        *,
        row_id: int,
    ) -> None:
        self.owner = owner
        self.request = request
        self.key = key
        self.reply = reply
        self.settings = settings
        self.status = ThreadStatus.for_turn(owner.writer, request)
        self.started = owner.clock.now()
        self.usage = [0, 0]  # prompt and completion tokens the server reported
        self.shown = ""  # everything shown in Slack for this turn
        self.round_text = ""  # text of the current model round
        self.row_id = row_id  # the stored assistant message of the current round
        self._saved_at = 0.0
        self._saving: asyncio.Task[None] | None = None  # a progress save in flight
        self.observed = owner.metrics.turn()
        self._deadline: asyncio.Timeout | None = None  # TURN_DEADLINE, once streaming starts
        if hasattr(reply, "on_roll"):  # save where each message starts as soon as it exists
            reply.on_roll = self._save_soon
        self._lost = False  # another replica took the reply over: it is theirs to end

    async def run(self) -> None:
        status = "complete"
        note = ""
        try:
            self.status.thinking()
            note = await self._rounds_unless_stopped()
        except _Stopped:
            status, note = "stopped", texts.STOPPED_BY_USER
            logger.info("reply %s was stopped by the user", self.reply.ts)
        except TimeoutError:
            if self._deadline is None or not self._deadline.expired():
                raise
            status, note = "interrupted", texts.TURN_TIMED_OUT
            logger.warning("turn in %s hit its deadline", self.key.channel_id)
        except ShuttingDown as exc:
            status, note = "interrupted", exc.user_message
        except StreamBroken:
            status, note = "failed", texts.STREAM_FAILED
        except UserFacingError as exc:
            status, note = "failed", ("\n\n" if self.shown else "") + exc.user_message
            logger.warning("turn failed: %s", exc)
        except asyncio.CancelledError:
            status, note = "interrupted", texts.INTERRUPTED
            await asyncio.shield(self._end(status, note))
            raise
        except Exception:
            status, note = "failed", ("\n\n" if self.shown else "") + texts.INTERNAL_ERROR
            logger.exception("turn failed unexpectedly")
        await self._end(status, note)

    async def _end(self, status: str, note: str) -> None:
        if self._lost:
            # Another replica took the reply over (this one looked dead) and marked it
            # interrupted; end the message the same way, and leave the row to its owner.
            await self.status.close()
            try:
                await self.reply.finish((self.shown + texts.INTERRUPTED).strip())
            except Exception:
                logger.exception("final edit failed")
            self.observed.finish("interrupted")
            return
        final = (self.shown + note) if self.shown else (note.lstrip() or texts.INTERNAL_ERROR)
        await self.status.close()
        if status == "complete":
            final += self._finishing_touches()
        try:
            await self.reply.finish(final)
        except Exception:
            logger.exception("final edit failed")
        self.observed.finish(status)
        await self._save_end(status)

    def _finishing_touches(self) -> str:
        """Offer feedback buttons and return the usage footer (if on) for a complete answer."""
        markup = getattr(self.reply, "markup", None)
        if isinstance(markup, ReplyMarkup) and markup.stop_value:
            markup.feedback_id = self.row_id
        if not self.owner.config.usage_footer or not any(self.usage):
            return ""
        prompt, completion = self.usage
        return texts.usage_footer(prompt, completion, self.owner.clock.now() - self.started)

    async def _save_end(self, status: str) -> None:
        """Store how the reply ended, waiting a little for a database that blinked."""
        await self._saved()
        for delay in (*FINAL_SAVE_BACKOFF, None):
            try:
                await self.owner.store.set_reply(
                    self.row_id, content=self.round_text, status=status
                )
                return
            except StorageUnavailable:
                if delay is None:
                    logger.error("could not record the end of reply %s", self.reply.ts)
                    return
                await self.owner.clock.sleep(delay)

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
        async with self.owner.answer_slot():
            self.started = self.owner.clock.now()
            self._deadline = asyncio.timeout(self.owner.config.turn_deadline)
            async with self._deadline:
                return await self._rounds()

    async def _rounds(self) -> str:
        owner = self.owner
        budget = owner.config.history_budget
        retried_context = False
        rounds = 0
        while True:
            stored = await owner.store.history(self.key, limit=owner.config.history_rows)
            if self.settings.stateless:  # e.g. translation: this message alone, no thread
                asked = [i for i, m in enumerate(stored) if m.slack_ts == self.request.message_ts]
                stored = stored[asked[0] :] if asked else stored
            # An answer that ended empty (a failure, or the tool-round cap) adds nothing.
            chat = [
                to_chat(m)
                for m in stored
                if m.id != self.row_id and (m.role != "assistant" or m.content or m.tool_calls)
            ]
            messages = history.fit(self.settings.system_prompt, chat, budget)
            try:
                outcome = await self._one_round(messages)
            except ContextTooLong:
                if retried_context or self.round_text:
                    raise
                retried_context, budget = True, budget // 2
                continue
            if outcome == "tool_calls":
                rounds += 1
                if rounds >= owner.config.max_tool_rounds:
                    return texts.TOOL_ROUNDS
                continue
            return {"length": texts.LENGTH_LIMIT, "content_filter": texts.CONTENT_FILTERED}.get(
                outcome, ""
            )

    async def _one_round(self, messages: list[dict[str, Any]]) -> str:
        owner = self.owner
        tools = (owner.tools.specs() or None) if self.settings.tools else None
        calls: ToolCallsReady | None = None
        finish = "stop"
        async for event in owner.model.stream(
            messages,
            tools=tools,
            model=self.settings.model,
            temperature=self.settings.temperature,
        ):
            self.observed.saw(event)
            if isinstance(event, TextDelta):
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
            elif isinstance(event, TurnDone):
                finish = event.finish_reason
                if event.usage:
                    self.usage[0] += int(event.usage.get("prompt_tokens") or 0)
                    self.usage[1] += int(event.usage.get("completion_tokens") or 0)
        if calls is not None:
            await self._run_tools(calls)
            return "tool_calls"
        return finish

    async def _run_tools(self, event: ToolCallsReady) -> None:
        owner = self.owner
        calls = [call.as_message() for call in event.calls]
        await self._saved()
        await owner.store.set_reply(
            self.row_id, content=self.round_text, tool_calls=calls, status="complete"
        )
        names = ", ".join(f"`{name}`" for name in dict.fromkeys(c.name for c in event.calls))
        self.reply.update(self.shown, status=texts.tool_status(names))
        self.status.running(names)
        for call in event.calls:
            self.reply.task(call.id, call.name, "in_progress")
        ctx = ToolContext(
            team_id=self.key.team_id,
            channel_id=self.key.channel_id,
            thread_ts=self.key.thread_ts,
            user_id=self.request.user_id,
            client=owner.client,
        )
        results = await owner.tools.run_all(event.calls, ctx)
        self.observed.tools(event.calls, results)
        for call, result in zip(event.calls, results, strict=True):
            self.reply.task(
                call.id, call.name, "error" if result.startswith("Error:") else "complete"
            )
        rows = [
            NewMessage("tool", result, tool_call_id=call.id)
            for call, result in zip(event.calls, results, strict=True)
        ]
        rows.append(NewMessage("assistant", "", slack_ts=self.reply.ts, status="streaming"))
        ids = await owner.store.append(self.key, rows)
        self.row_id = ids[-1]
        self.round_text = ""
        self.reply.update(self.shown, status=texts.tool_status(names, done=True))

    def _persist_maybe(self) -> None:
        """Save the answer so far now and then, off the stream's path (one save at a time)."""
        now = self.owner.clock.now()
        if now - self._saved_at < PERSIST_EVERY:
            return
        if self._saving is not None and not self._saving.done():
            return  # a busy database must not hold up the stream; the next delta tries again
        self._saved_at = now
        self._saving = asyncio.ensure_future(self._save_progress(self.row_id, self.round_text))

    async def _save_soon(self) -> None:
        """Save now where each message of the reply starts (a new one was posted)."""
        await self._saved()
        self._saved_at = self.owner.clock.now()
        self._saving = asyncio.ensure_future(self._save_progress(self.row_id, self.round_text))
        # A database that does not answer must not hold the reply up for long; the next
        # periodic save carries the parts too.
        await asyncio.wait({self._saving}, timeout=ROLL_SAVE_WAIT)

    async def _save_progress(self, row_id: int, content: str) -> None:
        try:
            parts = getattr(self.reply, "layout", None)
            if not await self.owner.store.set_reply(row_id, content=content, parts=parts):
                logger.warning("reply %s was taken over by another replica", self.reply.ts)
                self._lost = True
                self.reply.stopped.set()  # ends the model request; see `_end`
        except StorageUnavailable:
            pass  # the final save reports it; the answer keeps streaming

    async def _saved(self) -> None:
        """Wait for a progress save in flight, so that a later write of the row lands last."""
        if self._saving is not None:
            await asyncio.wait({self._saving})
