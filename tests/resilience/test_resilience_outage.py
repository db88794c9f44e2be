"""The database briefly unreachable (a real cut, through a TCP proxy in front of PostgreSQL).

PostgreSQL only: SQLite is a local file the bot opens itself, so "unreachable" is not a
failure it can meet in the same way (a full disk or a broken file is not brief).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot import texts
from bot.testing.dbproxy import DbProxy
from bot.testing.harness import Harness, channel_message, text_of
from bot.testing.openai import FakeOpenAI, text_reply
from bot.testing.slack import FakeSlack
from bot.testing.stored import stored_replies

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)

ANSWER = " ".join(f"Fact {i} about avalanches." for i in range(30))


@pytest.fixture
async def proxied(
    slack: FakeSlack, llm: FakeOpenAI, database_url: str
) -> AsyncIterator[tuple[Harness, DbProxy]]:
    async with DbProxy.for_url(database_url) as proxy:
        bot = Harness(slack=slack, llm=llm, database_url=proxy.url(database_url))
        try:
            await bot.start()
            yield bot, proxy
        finally:
            await proxy.restore()
            await bot.close()


async def healthz(bot: Harness) -> int:
    assert bot.http is not None
    async with bot.http.get(f"{bot.url}/healthz") as response:
        return response.status


async def test_database_briefly_unreachable_fails_the_turn_clearly_then_recovers(
    proxied: tuple[Harness, DbProxy],
) -> None:
    bot, proxy = proxied
    bot.llm.script(text_reply("Noted: the code word is avalanche."))
    root = await bot.mention("remember the code word avalanche")
    await bot.wait_reply_done("C1", root["ts"])

    await proxy.cut()
    assert await healthz(bot) == 503
    asked = channel_message("<@UBOT> what is the code word?", thread_ts=root["ts"])
    await bot.send({**asked, "type": "app_mention"})
    await bot.send(asked)  # the message.channels twin
    replies = await bot.wait_reply_done("C1", root["ts"], count=2)
    assert [text_of(r) for r in replies][1:] == [texts.STORAGE_DOWN], "one clear message"
    assert len(bot.llm.requests) == 1, "the model is not asked without the thread's history"

    await proxy.restore()
    assert await healthz(bot) == 200, "the same process reconnects on its own"
    bot.llm.script(text_reply("The code word is avalanche."))
    again = channel_message("<@UBOT> what is the code word, then?", thread_ts=root["ts"])
    await bot.send({**again, "type": "app_mention"})
    replies = await bot.wait_reply_done("C1", root["ts"], count=3)
    assert text_of(replies[-1]) == "The code word is avalanche."
    sent = [(m["role"], m["content"]) for m in bot.llm.requests[-1]["messages"][1:]]
    assert sent == [
        ("user", "remember the code word avalanche"),
        ("assistant", "Noted: the code word is avalanche."),
        ("user", "what is the code word, then?"),
    ], "nothing stored before the outage was lost"


async def test_database_blink_mid_answer_still_stores_the_whole_answer(
    proxied: tuple[Harness, DbProxy],
) -> None:
    bot, proxy = proxied
    bot.llm.script(text_reply(ANSWER, delay=0.02))  # ~2 s of streaming
    root = await bot.mention("tell me about avalanches")

    def shown() -> str:
        bots = [m for m in bot.slack.replies("C1", root["ts"]) if m.get("bot_id")]
        return text_of(bots[0]) if bots else ""

    await bot.slack.wait_for(lambda: shown().startswith("Fact 0"), what="streaming started")
    await proxy.cut()
    await bot.slack.wait_for(lambda: shown() == ANSWER, what="the answer finished in Slack")
    await proxy.restore()
    await bot.wait_reply_done("C1", root["ts"])
    [row] = await stored_replies(bot)
    assert (row.content, row.status) == (ANSWER, "complete")
