"""Slack-side failures and long answers through the real app: the final text always lands."""

from __future__ import annotations

import random
import time

import pytest

from bot.slack.reply.split import open_fence
from bot.testing.dbproxy import DbProxy
from bot.testing.harness import Harness, text_of
from bot.testing.openai import text_reply
from bot.testing.stored import reassemble

ANSWER = "Snow turns into firn and then into glacier ice over many winters. " * 8
LIMIT = 3900  # SLACK_MESSAGE_MAX_CHARS default

# Tests about the wire, not the database, run on SQLite only; those that check what was
# stored run on both backends.
WIRE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def gaps_after_429(bot: Harness, method: str) -> list[float]:
    """Return the time from each 429 to the next call of the same method."""
    calls = bot.slack.calls_to(method)
    return [b.at - a.at for a, b in zip(calls, calls[1:], strict=False) if a.status == 429]


@WIRE_ONLY
async def test_slack_429_on_chat_update_waits_retry_after_and_the_final_edit_lands(
    bot: Harness,
) -> None:
    bot.slack.fail_next("chat.update", status=429, retry_after=1)
    bot.llm.script(text_reply(ANSWER, delay=0.01))
    event = await bot.mention("how does snow become ice?")
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert [text_of(r) for r in replies] == [ANSWER]
    gaps = gaps_after_429(bot, "chat.update")
    assert len(gaps) == 1 and gaps[0] >= 1.0, gaps  # nothing was sent during the pause
    assert bot.slack.calls_to("chat.update")[-1].status == 200


@WIRE_ONLY
async def test_slack_429_on_chat_post_message_waits_retry_after(bot: Harness) -> None:
    bot.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    bot.llm.script(text_reply(ANSWER))
    event = await bot.mention("how does snow become ice?")
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert [text_of(r) for r in replies] == [ANSWER]
    posts = bot.slack.calls_to("chat.postMessage")
    assert [p.status for p in posts] == [429, 200], "one placeholder, posted once"
    assert gaps_after_429(bot, "chat.postMessage")[0] >= 1.0


@WIRE_ONLY
async def test_slack_5xx_on_chat_update_is_retried_and_the_final_edit_lands(bot: Harness) -> None:
    bot.slack.fail_next("chat.update", status=500, times=2)
    bot.slack.fail_next("chat.update", status=503, error="service_unavailable")
    bot.llm.script(text_reply(ANSWER, delay=0.01))
    event = await bot.mention("how does snow become ice?")
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert [text_of(r) for r in replies] == [ANSWER]
    statuses = [c.status for c in bot.slack.calls_to("chat.update")]
    assert statuses.count(500) == 2 and statuses.count(503) == 1 and statuses[-1] == 200


def long_answer(size: int = 72_000) -> tuple[str, list[str]]:
    """Build a Markdown answer of prose, short code blocks and one very long code block."""
    rng = random.Random(4)
    words = ["glacier", "moraine", "crevasse", "serac", "firn", "cirque", "ablation", "ice"]
    chunks: list[str] = []
    short_blocks: list[str] = []
    length, n = 0, 0
    while length < size:
        n += 1
        paragraph = " ".join(rng.choice(words) for _ in range(rng.randint(20, 120))) + ".\n\n"
        if n % 5 == 0:
            rows = [f"row_{n}_{i} = measure({i}, depth={i * 3})" for i in range(12)]
            body = "\n".join(rows[:6]) + "\n\n" + "\n".join(rows[6:])  # a blank line inside
            block = f"```python\n{body}\n```\n\n"
            short_blocks.append(block.strip())
            paragraph += block
        if n == 30:  # one block longer than a Slack message: it must be cut and reopened
            body = "\n".join(
                f"SELECT depth, speed FROM glacier WHERE id = {i};" for i in range(120)
            )
            paragraph += f"```sql\n{body}\n```\n\n"
        chunks.append(paragraph)
        length += len(paragraph)
    return "".join(chunks)[:size].rsplit(" ", 1)[0] + " end.", short_blocks


@WIRE_ONLY
async def test_72000_character_answer_rolls_over_at_safe_points(harness: Harness) -> None:
    # A roomy edit budget: this test is about where the answer is split, not about pacing.
    bot = await harness.start(
        slack_update_interval=0.1, edit_budget_per_minute=6000, edit_budget_burst=100
    )
    answer, short_blocks = long_answer()
    assert len(answer) > 71_000
    bot.llm.script(text_reply(answer, pieces=400, delay=0.01))  # 180 chunks, ~2 s
    event = await bot.mention("tell me everything about glaciers")
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("chat.postMessage")) >= 2)
    assert bot.llm.open_streams == 1, "the answer rolled over while still streaming"
    replies = await bot.wait_reply_done("C1", event["ts"], count=19)
    parts = [text_of(r) for r in replies]
    assert len(parts) >= 19  # 72,000 / 3,900
    assert all(len(p) <= LIMIT for p in parts), [len(p) for p in parts]
    assert all(open_fence(p) is None for p in parts), "a code block was left open"
    raw = reassemble(parts, answer)
    assert all(p[-1].isspace() for p in raw[:-1]), "a split fell inside a word"
    assert "".join(raw) == answer, "nothing lost, nothing repeated"
    assert sum(p.startswith("```sql") for p in parts[1:]) >= 1, "the long block was reopened"
    for block in short_blocks:  # blocks that fit a message are never cut
        assert any(block in p for p in parts), block[:40]


@WIRE_ONLY
async def test_slack_unreachable_for_a_moment_the_final_edit_lands_when_it_is_back(
    harness: Harness,
) -> None:
    port = int(harness.slack.api_url.split(":")[2].split("/")[0])
    async with DbProxy("127.0.0.1", port) as proxy:  # a plain TCP proxy, here for Slack
        bot = await harness.start(slack_api_url=f"http://127.0.0.1:{proxy.port}/api/")
        bot.llm.script(text_reply(ANSWER, delay=0.01))  # ~0.5 s
        event = await bot.mention("how does snow become ice?")
        await bot.slack.wait_for(
            lambda: any(text_of(m).startswith("Snow") for m in bot.slack.bot_messages("C1")),
            what="the answer is streaming",
        )
        await proxy.cut()  # connections reset, new ones refused
        await bot.llm.wait_for(lambda: bot.llm.open_streams == 0, what="the model finished")
        await proxy.restore()
        restored_at = time.monotonic()
        replies = await bot.wait_reply_done("C1", event["ts"])
        assert [text_of(r) for r in replies] == [ANSWER]
        final = bot.slack.calls_to("chat.update")[-1]
        assert final.at >= restored_at, "the final edit waited for Slack to come back"
