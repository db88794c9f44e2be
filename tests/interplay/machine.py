"""The interplay machine: random interleavings of what users, the model and Slack do.

Each example starts the real bot against the fakes on a private event loop; every rule runs
a short coroutine on that loop (the bot runs only while a rule does, which keeps examples
reproducible enough for Hypothesis), and the invariants read what the fakes recorded.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot import texts
from bot.slack.reply.markup import STOP_ACTION
from bot.testing.harness import Harness, channel_message, next_ts, text_of
from bot.testing.interactive import click, element
from bot.testing.leftovers import stale_stop_buttons
from bot.testing.openai import FakeOpenAI, Reply, error_reply, text_reply
from bot.testing.slack import FakeSlack
from tests.interplay.shares import SharesAndImages, last_user_token

PUBLIC, PRIVATE = "C1", "G1"
USERS = ("U1", "U2")
# "lone_think": an answer about markup with a literal </think> (issue 22, finding 1)
FAULTS = ("none", "slow", "cut", "400", "5xx", "refusal", "lone_think")
CAP = 3000  # USAGE_LIMIT_USER_DAILY_TOKENS: a few answers each, then clear refusals
USAGE = {"prompt_tokens": 300, "completion_tokens": 100}
SHARED = texts.shared_summary("", "").split("<@")[0]  # a posted summary, not an answer


@dataclass
class Question:
    """One question a user sent, and what the model was told to do with it."""

    n: int
    ts: str
    channel: str
    thread_ts: str
    user: str
    fault: str
    deleted: bool = False
    image: bool = False

    @property
    def asks_allowed(self) -> int:
        """Return how often the model may be asked this question (retries of a fault)."""
        return {"5xx": 2, "cut": 4}.get(self.fault, 1)


def answer_for(question: Question) -> Reply:
    """Return the scripted model reply for `question`'s fault."""
    words = f"Answer {question.n} " + " ".join(f"w{i}" for i in range(12))
    if question.channel == PRIVATE:
        words += f" SECRET-{question.n}"
    match question.fault:
        case "slow":
            return text_reply(words, delay=0.05, usage=USAGE)
        case "cut":
            return text_reply(words, cut_after=4, usage=USAGE)
        case "400":
            return error_reply(400, "bad request")
        case "5xx":
            return error_reply(503, "overloaded", type="server_error")
        case "lone_think":
            return text_reply(f"About markup: </think> is a tag. {words}", usage=USAGE)
        case "refusal":
            chunks = [
                {"delta": {"role": "assistant", "content": None}, "finish_reason": None},
                {"delta": {"refusal": f"I cannot help with {question.n}."}, "finish_reason": None},
                {"delta": {}, "finish_reason": "stop"},
            ]
            return Reply(chunks=chunks, usage=USAGE)
    return text_reply(words, usage=USAGE)


class Interplay(SharesAndImages, RuleBasedStateMachine):
    """Mentions, follow-ups, Stop clicks, edits, deletions, files, shares, faults, interleaved."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.questions: dict[int, Question] = {}
        self.roots: list[Question] = []
        self.tmp = tempfile.TemporaryDirectory(prefix="interplay-")
        self.slack = FakeSlack()
        self.llm = FakeOpenAI()
        self.run(self._start())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _start(self) -> None:
        await self.slack.__aenter__()
        await self.llm.__aenter__()
        self.slack.add_channel(PUBLIC, "general", is_private=False)
        self.slack.add_channel(PRIVATE, "secret-plans", is_private=True, members=["UBOT", *USERS])
        self.llm.responder = self._respond
        url = f"sqlite+aiosqlite:///{Path(self.tmp.name) / 'bot.db'}"
        self.bot = Harness(slack=self.slack, llm=self.llm, database_url=url)
        await self.bot.start(usage_limit_user_daily_tokens=CAP, usage_reserve_tokens=100)
        self._prepare_extras()

    def _respond(self, body: dict[str, Any]) -> Reply:
        summary = self.summary_reply(body)
        if summary is not None:
            return summary
        n = last_user_token(body)
        self.saw_image(body, n)
        if n is None or n not in self.questions:
            return text_reply("Carrying on.", usage=USAGE)
        reply = answer_for(self.questions[n])
        if n in self.held:  # an answer that stays open until a test lets it go on
            reply.hold, reply.hold_at = self.held[n], 2
        return reply

    def _new(self, channel: str, user: str, fault: str, thread_ts: str = "") -> Question:
        n = len(self.questions)
        ts = next_ts()
        question = Question(n, ts, channel, thread_ts or ts, user, fault)
        self.questions[n] = question
        return question

    async def _send(self, question: Question, *, twice: bool, files: list | None = None) -> None:
        text = f"<@UBOT> q{question.n} please"
        kw: dict[str, Any] = {"channel": question.channel, "user": question.user}
        if question.thread_ts != question.ts:
            kw["thread_ts"] = question.thread_ts
        if question.channel == PRIVATE:
            kw["channel_type"] = "group"
        event = channel_message(text, ts=question.ts, **kw)
        if files:
            event.update(files=files, upload=True)
        # In the channel as Slack keeps it (a summary's transcript reads it back).
        thread = kw.get("thread_ts")
        self.slack.add_message(
            question.channel, text, question.user, question.ts, thread, files=files
        )
        await self.bot.send({**event, "type": "app_mention"})
        await self.bot.send({**event, "subtype": "file_share"} if files else event)
        if twice:  # Slack redelivers when the ack was late
            await self.bot.send(event, retry_num=1)
        await asyncio.sleep(0.02)

    # Rules: what people, the model and Slack do.

    @rule(
        user=st.sampled_from(USERS),
        private=st.booleans(),
        fault=st.sampled_from(FAULTS),
        twice=st.booleans(),
    )
    def mention(self, user: str, private: bool, fault: str, twice: bool) -> None:
        question = self._new(PRIVATE if private else PUBLIC, user, fault)
        self.roots.append(question)
        self.run(self._send(question, twice=twice))

    @precondition(lambda self: bool(self.roots))
    @rule(
        pick=st.integers(0, 99),
        user=st.sampled_from(USERS),
        fault=st.sampled_from(FAULTS),
    )
    def follow_up(self, pick: int, user: str, fault: str) -> None:
        root = self.roots[pick % len(self.roots)]
        question = self._new(root.channel, user, fault, thread_ts=root.ts)
        self.run(self._send(question, twice=False))

    @rule(user=st.sampled_from(USERS))
    def file_question(self, user: str) -> None:
        question = self._new(PUBLIC, user, "none")
        self.roots.append(question)
        file = self.slack.add_file("notes.txt", b"The meeting is on Tuesday.", "text/plain")
        self.run(self._send(question, twice=False, files=[file]))

    @rule(pick=st.integers(0, 99), by_asker=st.booleans())
    def stop(self, pick: int, by_asker: bool) -> None:
        live = [m for m in self.slack.bot_messages() if element(m, STOP_ACTION) is not None]
        if not live:
            return
        message = live[pick % len(live)]
        asker = next(
            (q.user for q in self.questions.values() if q.thread_ts == message.get("thread_ts")),
            "U1",
        )
        user = asker if by_asker else next(u for u in USERS if u != asker)
        self.run(self.bot.interact(click(message, STOP_ACTION, user=user)))

    @precondition(lambda self: bool(self.questions))
    @rule(pick=st.integers(0, 99))
    def edit(self, pick: int) -> None:
        question = self.questions[pick % len(self.questions)]
        event = {
            "type": "message",
            "subtype": "message_changed",
            "channel": question.channel,
            "hidden": True,
            "ts": next_ts(),
            "message": {
                "type": "message",
                "user": question.user,
                "text": f"<@UBOT> q{question.n} please (edited)",
                "ts": question.ts,
                **({"thread_ts": question.thread_ts} if question.thread_ts != question.ts else {}),
            },
            "previous_message": {"type": "message", "ts": question.ts, "text": "..."},
        }
        self.run(self.bot.send(event))

    @precondition(lambda self: bool(self.questions))
    @rule(pick=st.integers(0, 99))
    def delete(self, pick: int) -> None:
        question = self.questions[pick % len(self.questions)]
        question.deleted = True
        event = {
            "type": "message",
            "subtype": "message_deleted",
            "channel": question.channel,
            "hidden": True,
            "ts": next_ts(),
            "deleted_ts": question.ts,
            "previous_message": {"type": "message", "ts": question.ts, "text": "..."},
        }
        self.run(self.bot.send(event))

    @rule(status=st.sampled_from([429, 500, 503]), method=st.sampled_from(["chat.update"]))
    def slack_fault(self, status: int, method: str) -> None:
        self.slack.fail_next(method, status=status, retry_after=1 if status == 429 else None)

    @rule(seconds=st.sampled_from([0.05, 0.3]))
    def time_passes(self, seconds: float) -> None:
        self.run(asyncio.sleep(seconds))

    @rule()
    def quiet(self) -> None:
        self.run(self.bot.settle(timeout=30))
        self.no_fact_outlives_its_contradiction()

    # Invariants: after every step, and (settled) at teardown.

    @invariant()
    def nothing_private_in_a_public_thread(self) -> None:
        for message in self.slack.bot_messages(PUBLIC):
            assert "SECRET-" not in text_of(message), message

    @invariant()
    def the_model_is_never_asked_twice_for_one_message(self) -> None:
        asked: dict[int, int] = {}
        refused = self.refused_images()  # asked again without the images: by design
        for i, body in enumerate(self.llm.requests):
            n = None if i in refused else last_user_token(body)
            if n is not None:
                asked[n] = asked.get(n, 0) + 1
        for n, times in asked.items():
            assert times <= self.questions[n].asks_allowed, (self.questions[n], times)

    def teardown(self) -> None:
        try:
            self.run(self._finish())
        finally:
            self.run(self._close())
            self.loop.close()
            self.tmp.cleanup()

    async def _finish(self) -> None:
        await self.bot.settle(timeout=60)
        await self.slack.wait_for(lambda: self.bot.finished([]), timeout=60, what="idle")
        self.every_question_gets_one_answer_or_one_refusal()
        left = stale_stop_buttons(self.slack.bot_messages())
        assert not left, f"replies left with a Stop button: {left}"
        await self.no_limit_exceeded_by_more_than_one_round()
        self.no_fact_outlives_its_contradiction()
        self.an_image_refusal_never_costs_the_answer()
        await self.shares_keep_the_boundary()

    def every_question_gets_one_answer_or_one_refusal(self) -> None:
        threads: dict[tuple[str, str], list[Question]] = {}
        for q in self.questions.values():
            threads.setdefault((q.channel, q.thread_ts), []).append(q)
        for (channel, thread_ts), asked in threads.items():
            replies = [
                m
                for m in self.slack.replies(channel, thread_ts)
                if m.get("bot_id") and not text_of(m).startswith(SHARED)
            ]
            deleted = sum(q.deleted for q in asked)
            assert len(asked) - deleted <= len(replies) <= len(asked), (asked, replies)
            for reply in replies:
                shown = text_of(reply).strip()
                assert shown and shown != "_Thinking…_", reply
            if len(asked) == 1 and len(replies) == 1 and not asked[0].deleted:
                self.a_whole_answer_or_a_clear_refusal(asked[0], text_of(replies[0]))

    def a_whole_answer_or_a_clear_refusal(self, question: Question, shown: str) -> None:
        """A question the model answers (no model error) shows its answer, or says why not."""
        if question.fault in ("400", "5xx", "refusal"):
            return  # the model failed or refused: the bot's clear sentence, or the refusal
        clear = ("daily limit", "Stopped.", "Answer " + str(question.n))
        assert any(part in shown for part in clear), (question, shown)

    async def no_limit_exceeded_by_more_than_one_round(self) -> None:
        from bot.usage.record import UsageLedger

        assert self.bot.runtime is not None
        spent: dict[str, list[int]] = {}
        async for row in UsageLedger(self.bot.runtime.engine).records():
            spent.setdefault(row.user_id, []).append(row.total_tokens)
        for user, totals in spent.items():
            assert sum(totals) <= CAP + max(totals), (user, totals)

    async def _close(self) -> None:
        await self.bot.close()
        await self.llm.__aexit__(None, None, None)
        await self.slack.__aexit__(None, None, None)
