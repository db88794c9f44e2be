"""Many replies at once in one workspace through the real app, against Slack's rate limits.

The fake Slack enforces a workspace-wide token bucket per method and answers 429 when it
is empty; the bot's edit budget must keep every reply inside it. (The 30-reply benchmark
with lag figures lives in bench/; this checks the behaviour, not the timings.)
"""

from __future__ import annotations

import asyncio
import re

from bot.testing.harness import Harness, dm, text_of
from bot.testing.openai import Reply, text_reply

REPLIES = 10


def numbered_answers(body: dict) -> Reply:
    """Answer question N with answer N, streamed for about 1 s."""
    question = body["messages"][-1]["content"]
    n = int(re.search(r"\d+", question).group())  # type: ignore[union-attr]
    return text_reply(expected(n), delay=0.04)


def expected(n: int) -> str:
    return f"Answer {n}: " + " ".join(f"part{n}.{i}" for i in range(24))


async def test_many_replies_share_the_edit_budget_without_429s(harness: Harness) -> None:
    bot = await harness.start()  # the default budget: 45 a minute, bursts of 20
    bot.slack.set_rate_limit("chat.update", per_minute=100, burst=30)  # Slack's Tier 3
    bot.llm.responder = numbered_answers
    events = await asyncio.gather(*(bot.mention(f"question {n}") for n in range(REPLIES)))
    for n, event in enumerate(events):
        replies = await bot.wait_reply_done("C1", event["ts"])
        assert [text_of(r) for r in replies] == [expected(n)], f"reply {n} is not whole"
    assert bot.slack.rate_limited == 0
    assert bot.runtime is not None and bot.runtime.budget is not None
    by_ts: dict[str, list[str]] = {}
    for call in bot.slack.calls_to("chat.update"):
        by_ts.setdefault(call.args["ts"], []).append(text_of(call.args))
    assert len(by_ts) == REPLIES
    for texts in by_ts.values():
        final = texts[-1]
        assert any(0 < len(text) < len(final) and final.startswith(text) for text in texts), (
            "every reply is edited at least once while it streams"
        )
    stats = bot.runtime.budget.stats()[("T1", "chat.update")]
    assert stats.granted == len(bot.slack.calls_to("chat.update"))
    assert stats.active == 0 and stats.waiting == 0


async def test_native_appends_share_the_workspace_budget(harness: Harness) -> None:
    bot = await harness.start(stream_mode="auto", native_flush_interval=0.1)
    bot.slack.set_rate_limit("chat.appendStream", per_minute=100, burst=30)  # Slack's Tier 4
    bot.llm.responder = numbered_answers
    roots = [bot.slack.add_message(f"D{n}", "hi", f"U{n}") for n in range(REPLIES)]
    await asyncio.gather(
        *(bot.send(dm(f"question {n}", channel=f"D{n}", user=f"U{n}", thread_ts=root))
          for n, root in enumerate(roots))
    )  # fmt: skip
    for n, root in enumerate(roots):
        replies = await bot.wait_reply_done(f"D{n}", root)
        assert [text_of(r) for r in replies] == [expected(n)]
    assert bot.slack.rate_limited == 0
    appended = {call.args["ts"] for call in bot.slack.calls_to("chat.appendStream")}
    assert len(appended) == REPLIES, "every stream got text while the model wrote"
    assert bot.slack.calls_to("chat.update") == []


async def test_a_429_pauses_chat_update_for_every_reply_in_the_workspace(
    harness: Harness,
) -> None:
    bot = await harness.start(edit_budget_per_minute=120)
    bot.llm.responder = numbered_answers
    await bot.mention("question 0")
    await bot.slack.wait_for(lambda: bot.slack.calls_to("chat.update"))
    bot.slack.fail_next("chat.update", status=429, retry_after=1)
    events = await asyncio.gather(*(bot.mention(f"question {n}") for n in range(1, 3)))
    for n, event in enumerate(events, start=1):
        replies = await bot.wait_reply_done("C1", event["ts"])
        assert [text_of(r) for r in replies] == [expected(n)]
    updates = bot.slack.calls_to("chat.update")
    limited = next(c for c in updates if c.status == 429)
    # Calls already on the wire when the 429 came may still land; after that, nothing from
    # any reply in the workspace until Retry-After has passed.
    during = [c for c in updates if limited.at + 0.1 < c.at < limited.at + 0.9]
    assert during == [], [(round(c.at - limited.at, 2), c.args["ts"]) for c in during]
    assert bot.slack.rate_limited == 1
    assert bot.runtime is not None
    assert bot.runtime.budget.stats()[("T1", "chat.update")].paused == 1
