"""One turn: claim the message, load history, run the model loop, render, persist."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages as texts
from bot.channel_config import ChannelSettings, TurnSettings
from bot.clock import Clock, SystemClock
from bot.db.store import NewMessage, Store, StoredMessage, ThreadKey
from bot.errors import StorageUnavailable, UserFacingError
from bot.llm import history
from bot.llm.client import ChatModel
from bot.llm.errors import ContextTooLong, StreamBroken
from bot.llm.events import StreamRetry, TextDelta, ToolCallsReady, TurnDone
from bot.locks import RedisThreadLocks
from bot.metrics import Metrics
from bot.slack.blocks import ReplyMarkup
from bot.slack.budget import EditBudget
from bot.slack.format import from_slack
from bot.slack.renderer import ReplyTarget
from bot.slack.replies import Reply, ReplyStyle, StreamMode, make_reply
from bot.slack.status import ThreadStatus
from bot.slack.writer import SlackWriter
from bot.tools.registry import ToolContext, ToolRegistry

logger = logging.getLogger(__name__)

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
PERSIST_EVERY = 2.0  # seconds between saves of a streaming answer (for crash recovery)
FINAL_SAVE_BACKOFF = (0.5, 1.0, 2.0, 4.0)  # retries of the last save while the database is away
SPOKEN_MEMORY = 4096  # messages remembered as already answered or notified, per process


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


@dataclass(slots=True)
class TurnConfig:
    """The knobs of a turn, taken from Settings."""

    system_prompt: str
    update_interval: float = 1.0
    message_limit: int = 3900
    history_budget: int = 8000
    history_rows: int = 400
    max_tool_rounds: int = 8
    turn_deadline: float = 600.0
    stream_mode: StreamMode = "update"
    native_flush_interval: float = 0.5
    reply_buttons: bool = True  # Stop while streaming, feedback when done (update mode)
    usage_footer: bool = False  # tokens, time and tokens/s under a finished answer


@dataclass
class Conversation:
    """Answer turns, one at a time per thread, many threads at once."""

    store: Store
    model: ChatModel
    writer: SlackWriter
    client: AsyncWebClient
    config: TurnConfig
    bot_user_id: str = ""
    tools: ToolRegistry = field(default_factory=ToolRegistry)
    clock: Clock = field(default_factory=SystemClock)
    metrics: Metrics = field(default_factory=Metrics)
    budget: EditBudget | None = None  # one per process, shared by every reply
    locks: RedisThreadLocks | None = None  # thread order across replicas (REDIS_URL)
    channels: ChannelSettings | None = None  # per-channel prompt, model, temperature
    live: dict[tuple[str, str, str], _Turn] = field(default_factory=dict)  # by asked message
    _locks: dict[ThreadKey, tuple[asyncio.Lock, int]] = field(default_factory=dict)
    _spoken: OrderedDict[tuple[str, str, str], None] = field(default_factory=OrderedDict)
    active: set[asyncio.Task[Any]] = field(default_factory=set)

    async def handle(self, request: TurnRequest) -> None:
        """Answer `request` once, even when Slack delivers it several times."""
        target = ReplyTarget(request.team_id, request.channel, request.thread_ts)
        key = ThreadKey(request.team_id, request.channel, request.thread_ts)
        try:
            # Queue on the thread before the first await, so that follow-ups are answered
            # in the order they arrived (and the claim of a twin event waits its turn).
            async with self._thread_lock(key, request.message_ts):
                try:
                    claimed = await self.store.claim(
                        request.team_id, request.channel, request.message_ts, request.event_id
                    )
                except StorageUnavailable as exc:
                    if self._first_word(request):  # one notice, not one per twin event
                        await self._say(target, exc.user_message)
                    return
                if not claimed:
                    logger.info("message %s already claimed; not answering", request.message_ts)
                    return
                await self._answer(request, key, target)
        except asyncio.CancelledError:
            # Shutting down before this message's reply started: say so rather than nothing.
            if self._first_word(request):
                await asyncio.shield(self._say(target, texts.NOT_ANSWERED))
            raise

    def live_turn(self, team_id: str, channel: str, message_ts: str) -> _Turn | None:
        """Return the turn answering a message, while it runs in this process."""
        return self.live.get((team_id, channel, message_ts))

    async def settings_for(self, request: TurnRequest) -> TurnSettings:
        """Return the prompt, model and temperature a turn in this channel uses."""
        if self.channels is None:
            return TurnSettings(system_prompt=self.config.system_prompt)
        return await self.channels.for_turn(request.team_id, request.channel)

    async def decline(self, request: TurnRequest) -> None:
        """Tell the asker a message that arrived while shutting down was not answered."""
        target = ReplyTarget(request.team_id, request.channel, request.thread_ts)
        try:
            claimed = await self.store.claim(
                request.team_id, request.channel, request.message_ts, request.event_id
            )
        except StorageUnavailable:
            claimed = True  # cannot tell; the in-process memory still stops twin notices
        if claimed and self._first_word(request):
            await self._say(target, texts.NOT_ANSWERED)

    def _first_word(self, request: TurnRequest) -> bool:
        """Tell whether nothing was said about this message yet, and note that now it is."""
        key = (request.team_id, request.channel, request.message_ts)
        if key in self._spoken:
            return False
        self._spoken[key] = None
        while len(self._spoken) > SPOKEN_MEMORY:
            self._spoken.popitem(last=False)
        return True

    @asynccontextmanager
    async def _thread_lock(self, key: ThreadKey, order: str = "") -> AsyncIterator[None]:
        if self.locks is not None:
            async with self.locks.hold(key, order):
                yield
            return
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def _answer(self, request: TurnRequest, key: ThreadKey, target: ReplyTarget) -> None:
        bot_user = request.bot_user_id or self.bot_user_id
        text = MENTION.sub(
            lambda m: "" if m.group(1) == bot_user else m.group(0), request.text
        ).strip()
        try:
            if (
                request.thread_ts
                and request.message_ts != request.thread_ts
                and not await self.store.has_thread(key)
            ):
                await self._import_thread(request, key)
            if not text:
                await self._say(target, texts.EMPTY_MENTION)
                return
            await self.store.append(
                key,
                [NewMessage("user", text, user_id=request.user_id, slack_ts=request.message_ts)],
            )
        except StorageUnavailable as exc:
            await self._say(target, exc.user_message)
            return
        self._first_word(request)  # from here on the reply itself reports any failure
        config = self.config
        style = ReplyStyle(
            config.stream_mode,
            config.update_interval,
            config.native_flush_interval,
            config.message_limit,
        )
        reply = make_reply(
            style,
            writer=self.writer,
            budget=self.budget,
            clock=self.clock,
            target=target,
            message_ts=request.message_ts,
            user_id=request.user_id,
        )
        if config.reply_buttons and isinstance(getattr(reply, "markup", None), ReplyMarkup):
            reply.markup = ReplyMarkup(stop_value=request.message_ts)  # type: ignore[attr-defined]
        settings = await self.settings_for(request)
        await reply.start()
        turn = _Turn(self, request, key, reply, settings)
        live_key = (request.team_id, request.channel, request.message_ts)
        self.live[live_key] = turn
        try:
            await turn.run()
        finally:
            self.live.pop(live_key, None)

    async def _import_thread(self, request: TurnRequest, key: ThreadKey) -> None:
        """Give the model a thread's earlier messages the first time the bot joins it."""
        try:
            response = await self.client.conversations_replies(
                channel=request.channel, ts=request.thread_ts, limit=50
            )
        except (SlackApiError, OSError, TimeoutError) as exc:
            logger.warning("could not read thread history (%s); answering without it", exc)
            return
        earlier = []
        for message in response.get("messages") or []:
            ts = message.get("ts")
            if not ts or ts == request.message_ts or message.get("subtype"):
                continue
            mine = message.get("user") == (request.bot_user_id or self.bot_user_id) or message.get(
                "bot_id"
            )
            content = from_slack(message.get("text") or "").strip()
            if not content:
                continue
            earlier.append(
                NewMessage(
                    "assistant" if mine else "user",
                    content if mine else f"<@{message.get('user')}>: {content}",
                    user_id=message.get("user"),
                    slack_ts=ts,
                )
            )
        if earlier:
            await self.store.append(key, earlier)

    async def _say(self, target: ReplyTarget, text: str) -> None:
        """Post a short message in the thread, best effort."""
        try:
            await self.writer.call(
                target.team_id,
                "chat.postMessage",
                channel=target.channel,
                thread_ts=target.thread_ts,
                markdown_text=text,
            )
        except Exception:
            logger.exception("could not post a message to %s", target.channel)


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


class _Turn:
    """The model loop of one answer, with its Slack reply and stored assistant message."""

    def __init__(
        self,
        owner: Conversation,
        request: TurnRequest,
        key: ThreadKey,
        reply: Reply,
        settings: TurnSettings | None = None,
    ) -> None:
        self.owner = owner
        self.request = request
        self.key = key
        self.reply = reply
        self.settings = settings or TurnSettings(system_prompt=owner.config.system_prompt)
        self.status = ThreadStatus.for_turn(owner.writer, request)
        self.started = owner.clock.now()
        self.usage = [0, 0]  # prompt and completion tokens the server reported
        self.shown = ""  # everything shown in Slack for this turn
        self.round_text = ""  # text of the current model round
        self.row_id: int | None = None
        self._saved_at = 0.0
        self._saving: asyncio.Task[None] | None = None  # a progress save in flight
        self.observed = owner.metrics.turn()

    async def run(self) -> None:
        owner = self.owner
        status = "complete"
        note = ""
        deadline = asyncio.timeout(owner.config.turn_deadline)
        try:
            self.row_id = (
                await owner.store.append(
                    self.key,
                    [NewMessage("assistant", "", slack_ts=self.reply.ts, status="streaming")],
                )
            )[0]
            self.status.thinking()
            async with deadline:
                note = await self._rounds_unless_stopped()
        except _Stopped:
            status, note = "stopped", texts.STOPPED_BY_USER
            logger.info("reply %s was stopped by the user", self.reply.ts)
        except TimeoutError:
            if not deadline.expired():
                raise
            status, note = "interrupted", texts.TURN_TIMED_OUT
            logger.warning("turn in %s hit its deadline", self.key.channel_id)
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
        final = (self.shown + note) if self.shown else (note.lstrip() or texts.INTERNAL_ERROR)
        await self.status.close()
        if status == "complete":
            final += self._finishing_touches()
        try:
            await self.reply.finish(final)
        except Exception:
            logger.exception("final edit failed")
        self.observed.finish(status)
        if self.row_id is not None:
            await self._save_end(status)

    def _finishing_touches(self) -> str:
        """Offer feedback buttons and return the usage footer (if on) for a complete answer."""
        markup = getattr(self.reply, "markup", None)
        if isinstance(markup, ReplyMarkup) and markup.stop_value and self.row_id is not None:
            markup.feedback_id = self.row_id
        if not self.owner.config.usage_footer or not any(self.usage):
            return ""
        prompt, completion = self.usage
        return texts.usage_footer(prompt, completion, self.owner.clock.now() - self.started)

    async def _save_end(self, status: str) -> None:
        """Store how the reply ended, waiting a little for a database that blinked."""
        assert self.row_id is not None
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
        rounds = asyncio.ensure_future(self._rounds())
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
        assert self.row_id is not None
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
        if now - self._saved_at < PERSIST_EVERY or self.row_id is None:
            return
        if self._saving is not None and not self._saving.done():
            return  # a busy database must not hold up the stream; the next delta tries again
        self._saved_at = now
        self._saving = asyncio.ensure_future(self._save_progress(self.row_id, self.round_text))

    async def _save_progress(self, row_id: int, content: str) -> None:
        try:
            await self.owner.store.set_reply(row_id, content=content)
        except StorageUnavailable:
            pass  # the final save reports it; the answer keeps streaming

    async def _saved(self) -> None:
        """Wait for a progress save in flight, so that a later write of the row lands last."""
        if self._saving is not None:
            await asyncio.wait({self._saving})
