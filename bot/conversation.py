"""One turn: claim the message, load history, run the model loop, render, persist."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages as texts
from bot.clock import Clock, SystemClock
from bot.db.store import NewMessage, Store, StoredMessage, ThreadKey
from bot.errors import StorageUnavailable, UserFacingError
from bot.llm import history
from bot.llm.client import ChatModel
from bot.llm.errors import ContextTooLong, StreamBroken
from bot.llm.events import StreamRetry, TextDelta, ToolCallsReady, TurnDone
from bot.slack.renderer import ReplyTarget, StreamingReply
from bot.slack.writer import SlackWriter
from bot.tools.registry import ToolContext, ToolRegistry

logger = logging.getLogger(__name__)

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
PERSIST_EVERY = 2.0  # seconds between saves of a streaming answer (for crash recovery)


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
    _locks: dict[ThreadKey, tuple[asyncio.Lock, int]] = field(default_factory=dict)
    active: set[asyncio.Task[Any]] = field(default_factory=set)

    async def handle(self, request: TurnRequest) -> None:
        """Answer `request` once, even when Slack delivers it several times."""
        target = ReplyTarget(request.team_id, request.channel, request.thread_ts)
        try:
            if not await self.store.claim(
                request.team_id, request.channel, request.message_ts, request.event_id
            ):
                logger.info("message %s already claimed; not answering again", request.message_ts)
                return
        except StorageUnavailable as exc:
            await self._say(target, exc.user_message)
            return
        key = ThreadKey(request.team_id, request.channel, request.thread_ts)
        async with self._thread_lock(key):
            await self._answer(request, key, target)

    @asynccontextmanager
    async def _thread_lock(self, key: ThreadKey) -> AsyncIterator[None]:
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
        text = MENTION.sub(
            lambda m: "" if m.group(1) == self.bot_user_id else m.group(0), request.text
        ).strip()
        try:
            if request.message_ts != request.thread_ts and not await self.store.has_thread(key):
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
        reply = StreamingReply(
            writer=self.writer,
            target=target,
            interval=self.config.update_interval,
            limit=self.config.message_limit,
            clock=self.clock,
        )
        await reply.start()
        turn = _Turn(self, request, key, reply)
        await turn.run()

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
            mine = message.get("user") == self.bot_user_id or message.get("bot_id")
            content = (message.get("text") or "").strip()
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
    return chat


class _Turn:
    """The model loop of one answer, with its Slack reply and stored assistant message."""

    def __init__(
        self, owner: Conversation, request: TurnRequest, key: ThreadKey, reply: StreamingReply
    ) -> None:
        self.owner = owner
        self.request = request
        self.key = key
        self.reply = reply
        self.shown = ""  # everything shown in Slack for this turn
        self.round_text = ""  # text of the current model round
        self.row_id: int | None = None
        self._saved_at = 0.0

    async def run(self) -> None:
        owner = self.owner
        status = "complete"
        note = ""
        try:
            self.row_id = (
                await owner.store.append(
                    self.key,
                    [NewMessage("assistant", "", slack_ts=self.reply.ts, status="streaming")],
                )
            )[0]
            async with asyncio.timeout(owner.config.turn_deadline):
                note = await self._rounds()
        except TimeoutError:
            status, note = "interrupted", texts.INTERRUPTED
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
        final = (self.shown + note) if (self.shown or note) else texts.INTERNAL_ERROR
        try:
            await self.reply.finish(final)
        except Exception:
            logger.exception("final edit failed")
        if self.row_id is not None:
            try:
                await self.owner.store.set_reply(
                    self.row_id, content=self.round_text, status=status
                )
            except StorageUnavailable:
                logger.error("could not record the end of reply %s", self.reply.ts)

    async def _rounds(self) -> str:
        owner = self.owner
        budget = owner.config.history_budget
        retried_context = False
        rounds = 0
        while True:
            stored = await owner.store.history(self.key, limit=owner.config.history_rows)
            chat = [to_chat(m) for m in stored if m.id != self.row_id]
            messages = history.fit(owner.config.system_prompt, chat, budget)
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
        tools = owner.tools.specs() or None
        async for event in owner.model.stream(messages, tools=tools):
            if isinstance(event, TextDelta):
                self.round_text += event.text
                self.shown += event.text
                self.reply.update(self.shown)
                await self._persist_maybe()
            elif isinstance(event, StreamRetry):
                logger.info("resuming stream (attempt %d)", event.attempt)
            elif isinstance(event, ToolCallsReady):
                await self._run_tools(event)
                return "tool_calls"
            elif isinstance(event, TurnDone):
                return event.finish_reason
        return "stop"

    async def _run_tools(self, event: ToolCallsReady) -> None:
        owner = self.owner
        assert self.row_id is not None
        calls = [call.as_message() for call in event.calls]
        await owner.store.set_reply(
            self.row_id, content=self.round_text, tool_calls=calls, status="complete"
        )
        names = ", ".join(f"`{call.name}`" for call in event.calls)
        self.reply.update(self.shown, status=texts.tool_status(names))
        ctx = ToolContext(
            team_id=self.key.team_id,
            channel_id=self.key.channel_id,
            thread_ts=self.key.thread_ts,
            user_id=self.request.user_id,
            client=owner.client,
        )
        results = await owner.tools.run_all(event.calls, ctx)
        rows = [
            NewMessage("tool", result, tool_call_id=call.id)
            for call, result in zip(event.calls, results, strict=True)
        ]
        rows.append(NewMessage("assistant", "", slack_ts=self.reply.ts, status="streaming"))
        ids = await owner.store.append(self.key, rows)
        self.row_id = ids[-1]
        if self.shown and not self.shown.endswith(("\n", " ")):
            self.shown += "\n\n"
        self.round_text = ""
        self.reply.update(self.shown, status=texts.tool_status(names, done=True))

    async def _persist_maybe(self) -> None:
        now = self.owner.clock.now()
        if now - self._saved_at < PERSIST_EVERY or self.row_id is None:
            return
        self._saved_at = now
        try:
            await self.owner.store.set_reply(self.row_id, content=self.round_text)
        except StorageUnavailable:
            pass  # the final save reports it; the answer keeps streaming
