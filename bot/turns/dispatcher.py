"""Dispatch turns: claim each message once, order them per thread, admit them, start each turn."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_sdk.web.async_client import AsyncWebClient

from bot import texts
from bot.clock import Clock, SystemClock
from bot.db.records import NewMessage, ReplyStatus, ThreadKey
from bot.db.store import Store
from bot.errors import StorageUnavailable
from bot.files.reader import FileReader, Reading, files_off
from bot.llm.client import ChatModel
from bot.llm.model_facts import NO_IMAGES
from bot.slack.budget import EditBudget
from bot.slack.reply.choose import Reply, make_reply
from bot.slack.reply.session import ThreadSession, title_from
from bot.slack.reply.update import ReplyTarget
from bot.slack.sessions import AgentSessions
from bot.slack.writer import Writer
from bot.telemetry.metrics import Metrics
from bot.tools.registry import ToolRegistry
from bot.turns.admission import Admission
from bot.turns.approval import Approvals
from bot.turns.channel_settings import ChannelSettings, TurnSettings
from bot.turns.chat_history import DisplayNames
from bot.turns.locks import LocalThreadLocks, RedisThreadLocks
from bot.turns.request import TurnConfig, TurnRequest
from bot.turns.thread_import import import_thread
from bot.turns.turn import Turn
from bot.turns.turn_state import TurnDeps
from bot.usage.limits import Reached
from bot.usage.reservations import Hold
from bot.usage.tracker import UsageTracker

logger = logging.getLogger(__name__)

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
SPOKEN_MEMORY = 4096  # messages remembered as claimed, answered or notified, per process


def _remember(memory: OrderedDict[tuple[str, str, str], None], key: tuple[str, str, str]) -> bool:
    """Note `key` in a bounded memory (oldest forgotten); tell whether it was new."""
    if key in memory:
        return False
    memory[key] = None
    while len(memory) > SPOKEN_MEMORY:
        memory.popitem(last=False)
    return True


class LiveAnswer(Protocol):
    """An answer in progress, as Stop sees it: who asked, the reply, and how to stop it."""

    @property
    def request(self) -> TurnRequest: ...

    @property
    def reply(self) -> Reply: ...

    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class StartingAnswer:
    """An answer whose placeholder is posted and whose turn is not built yet."""

    request: TurnRequest
    reply: Reply

    def stop(self) -> None:
        """Stop it: the turn, once built, ends at once as stopped."""
        self.reply.stopped.set()


@dataclass
class Dispatcher:
    """Answer turns, one at a time per thread, many threads at once."""

    store: Store
    model: ChatModel
    writer: Writer
    client: AsyncWebClient
    config: TurnConfig
    bot_user_id: str = ""
    tools: ToolRegistry = field(default_factory=ToolRegistry)
    clock: Clock = field(default_factory=SystemClock)
    metrics: Metrics = field(default_factory=Metrics)
    budget: EditBudget | None = None  # one per process, shared by every reply
    locks: RedisThreadLocks | None = None  # thread order across replicas (REDIS_URL)
    channels: ChannelSettings | None = None  # per-channel prompt, model, temperature
    usage: UsageTracker | None = None  # usage records and limits
    files: FileReader | None = None  # reads files on questions; None: files are not read
    live: dict[tuple[str, str, str], LiveAnswer] = field(default_factory=dict)  # by message
    names: DisplayNames | None = None  # labels who said what in threads with several people
    approvals: Approvals | None = None  # tool calls that wait for a person's Approve
    sessions: AgentSessions | None = None  # the thread's agent session (or assistant thread)
    _local_locks: LocalThreadLocks = field(default_factory=LocalThreadLocks)
    _spoken: OrderedDict[tuple[str, str, str], None] = field(default_factory=OrderedDict)
    _claimed: OrderedDict[tuple[str, str, str], None] = field(default_factory=OrderedDict)
    active: set[asyncio.Task[Any]] = field(default_factory=set)
    admission: Admission = field(init=False)  # MAX_CONCURRENT_ANSWERS

    def __post_init__(self) -> None:
        self.admission = Admission(self.config.max_concurrent, self.config.max_concurrent_per_user)

    async def handle(self, request: TurnRequest) -> None:
        """Answer `request` once, even when Slack delivers it several times."""
        target = ReplyTarget(request.team_id, request.channel, request.thread_ts, request.user_id)
        key = ThreadKey(request.team_id, request.channel, request.thread_ts)
        held = False  # the claim is ours
        try:
            # Queue on the thread before the first await, so that follow-ups are answered
            # in the order they arrived (and the claim of a twin event waits its turn).
            # A follow-up first waits the reorder window: an earlier message of the thread
            # may still be on its way to another replica (docs/reliability.md, "Order in a thread").
            window = self.config.reorder_window if request.thread_ts != request.message_ts else 0
            async with self.thread_lock(key, request.message_ts, window):
                asked = (request.team_id, request.channel, request.message_ts)
                if asked in self._claimed:  # the twin event (app_mention + message), a retry
                    logger.info("message %s already claimed here", request.message_ts)
                    return
                try:
                    claimed = await self.store.claim(
                        request.team_id,
                        request.channel,
                        request.message_ts,
                        request.event_id,
                        thread_ts=request.thread_ts,
                        settled=False,  # open until the reply's row exists
                    )
                except StorageUnavailable as exc:
                    if self._first_word(request):  # one notice, not one per twin event
                        await self._say(target, exc.user_message)
                    return
                if not claimed:
                    logger.info("message %s already claimed; not answering", request.message_ts)
                    return
                _remember(self._claimed, asked)  # the database stays the truth across processes
                held = True
                await self._answer(request, key, target)
        except asyncio.CancelledError:
            # Shutting down before this message's reply started: say so rather than nothing.
            if self._first_word(request):
                await asyncio.shield(self._say(target, texts.NOT_ANSWERED))
                if held:  # said here: recovery must not say it again
                    await asyncio.shield(self._settle(request))
            raise

    def turn_deps(self) -> TurnDeps:
        """Return what a turn of this conversation works with."""
        return TurnDeps(
            store=self.store,
            model=self.model,
            writer=self.writer,
            client=self.client,
            tools=self.tools,
            clock=self.clock,
            metrics=self.metrics,
            config=self.config,
            answer_slot=self.admission.slot,
            usage=self.usage,
            files=self.files,
            names=self.names,
            approvals=self.approvals,
            sessions=self.sessions,
        )

    def live_turn(self, team_id: str, channel: str, message_ts: str) -> LiveAnswer | None:
        """Return the answer to a message while it starts or runs in this process."""
        return self.live.get((team_id, channel, message_ts))

    def live_in_thread(
        self, team_id: str, channel: str, thread_ts: str, message_ts: Sequence[str] = ()
    ) -> list[LiveAnswer]:
        """Return the answers running here in a thread (or streaming into `message_ts`)."""
        shown = set(message_ts)
        return [
            live
            for (team, chan, asked), live in list(self.live.items())
            if team == team_id
            and chan == channel
            and (
                (live.request.thread_ts or asked) == thread_ts
                or bool(shown.intersection(live.reply.message_ts))
            )
        ]

    async def settings_for(self, request: TurnRequest) -> TurnSettings:
        """Return the prompt, model and temperature a turn in this channel uses."""
        if self.channels is None:
            return TurnSettings(system_prompt=self.config.system_prompt)
        return await self.channels.for_turn(request.team_id, request.channel)

    async def decline(self, request: TurnRequest) -> None:
        """Tell the asker a message that arrived while shutting down was not answered."""
        target = ReplyTarget(request.team_id, request.channel, request.thread_ts, request.user_id)
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
        return _remember(self._spoken, (request.team_id, request.channel, request.message_ts))

    @asynccontextmanager
    async def thread_lock(
        self, key: ThreadKey, order: str = "", window: float = 0.0
    ) -> AsyncIterator[None]:
        """Hold the thread's turn lock (across replicas with Redis), queued by `order` (a ts).

        `window`: seconds to stay queued first, for earlier messages still in flight.
        """
        locks = self.locks if self.locks is not None else self._local_locks
        async with locks.hold(key, order, window):
            yield

    async def _answer(self, request: TurnRequest, key: ThreadKey, target: ReplyTarget) -> None:
        bot_user = request.bot_user_id or self.bot_user_id
        text = MENTION.sub(
            lambda m: "" if m.group(1) == bot_user else m.group(0), request.text
        ).strip()
        if not text and not request.files:
            await self._say(target, texts.EMPTY_MENTION)
            await self._settle(request)
            return
        config = self.config
        reply = make_reply(
            config.reply,
            writer=self.writer,
            budget=self.budget,
            clock=self.clock,
            target=target,
            message_ts=request.message_ts,
            user_id=request.user_id,
        )
        if config.reply_buttons:
            reply.offer_stop(request.message_ts)
        session = ThreadSession(
            self.sessions,
            request.team_id,
            request.channel,
            request.thread_ts or request.message_ts,
            user_id=request.user_id,
            title=title_from(text, texts.NEW_CONVERSATION),
        )
        session.begin()  # `processing`: Slack shows the bot at work, with its Stop button
        # The placeholder goes out right after the claim: the asker sees the bot at work
        # before any further database work, which under load can take a while.
        await reply.start()
        self._first_word(request)  # from here on the reply itself reports any failure
        live_key = (request.team_id, request.channel, request.message_ts)
        # Stop works from the moment the placeholder shows its button, before the turn exists.
        self.live[live_key] = StartingAnswer(request, reply)
        try:
            await self._start_and_run(request, key, reply, text, session)
        finally:
            self.live.pop(live_key, None)
            await asyncio.shield(session.end())  # a turn that never ran leaves it `active` too

    async def _start_and_run(
        self, request: TurnRequest, key: ThreadKey, reply: Reply, text: str, session: ThreadSession
    ) -> None:
        """Write the question and the reply's row (after any thread import), then run the turn."""
        hold: Hold | None = None  # held against the usage limits until the turn owns it
        try:
            try:
                # Recovery ends the placeholder its open claim names (and finds an unnamed one
                # by its Stop button). It is named with the question's row, which usually
                # follows at once; before slow work (files, a thread to import, usage limits)
                # it is named now, so a crash during that work leaves a placeholder recovery
                # surely ends.
                if reply.ts and self._slow_start(request):
                    await self.store.placeholder_posted(
                        request.team_id, request.channel, request.message_ts, reply.ts
                    )
                if self.usage is not None:
                    held = await self.usage.admit(
                        request.team_id, request.channel, request.user_id, self.client
                    )
                    if isinstance(held, Reached):  # one sentence, and the model is not asked
                        await reply.finish(held.sentence())
                        await self._settle(request)
                        return
                    hold = held
                settings = await self.settings_for(request)
                reading = self._reading(request, settings.model)
                files = await reading.read(request.files) if reading and request.files else ()
                if (
                    request.thread_ts
                    and request.message_ts != request.thread_ts
                    and not await self.store.has_thread(key)
                ):
                    await import_thread(
                        self.client,
                        self.store,
                        request,
                        key,
                        bot_user_id=request.bot_user_id or self.bot_user_id,
                        own_ts=reply.ts,
                        reading=reading,
                    )
                notes = reading.notes if reading else files_off(request.files)
                if not text and not files:  # only files, and none could be read
                    await reply.finish("\n".join(notes) or texts.EMPTY_MENTION)
                    await self._settle(request)
                    return
                # The question and the reply's row in one transaction.
                _, row_id = await self.store.append(
                    key,
                    [
                        NewMessage(
                            "user",
                            text,
                            user_id=request.user_id,
                            slack_ts=request.message_ts,
                            files=files,
                        ),
                        NewMessage(
                            "assistant", "", slack_ts=reply.ts, status=ReplyStatus.STREAMING
                        ),
                    ],
                    settles=request.message_ts,
                    placeholder=reply.ts,
                )
            except StorageUnavailable as exc:
                await reply.finish(exc.user_message)
                await self._settle(request)
                return
            except asyncio.CancelledError:  # shutting down before the turn started
                await asyncio.shield(reply.finish(texts.NOT_ANSWERED))
                await asyncio.shield(self._settle(request))
                raise
            except Exception:
                logger.exception("could not start the turn")
                await reply.finish(texts.INTERNAL_ERROR)
                await self._settle(request)
                return
            turn = Turn(self.turn_deps(), request, key, reply, settings, row_id=row_id)
            turn.notes = notes
            turn.session = session
            self.live[(request.team_id, request.channel, request.message_ts)] = turn
            turn.hold, hold = hold, None
        finally:
            if hold is not None and self.usage is not None:  # no turn: nothing will be counted
                await asyncio.shield(self.usage.release(hold))
        await turn.run()  # a Stop pressed while starting ends it at once

    def _slow_start(self, request: TurnRequest) -> bool:
        """Tell whether work that may take a while comes before the question's row."""
        follow_up = bool(request.thread_ts) and request.message_ts != request.thread_ts
        limited = self.usage is not None and bool(self.usage.limits)
        return bool(request.files) or follow_up or limited

    def _reading(self, request: TurnRequest, model: str | None) -> Reading | None:
        """Start reading the files of this question (None when files are not read)."""
        if self.files is None:
            return None
        return self.files.reading(
            request.team_id,
            request.channel,
            request.user_id,
            blind=self.model.knows(NO_IMAGES, model),
            history_budget=self.config.history_budget,
        )

    async def _settle(self, request: TurnRequest) -> None:
        """Close the claim of a message that gets no reply row (best effort)."""
        try:
            await self.store.settle_claim(request.team_id, request.channel, request.message_ts)
        except StorageUnavailable:
            pass  # recovery may later mark it "not answered": clear, if redundant

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
