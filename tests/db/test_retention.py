"""Retention and privacy through the real app and the real command line."""

from __future__ import annotations

import asyncio
import time

from bot.testing.harness import Harness, channel_message, dm, text_of
from bot.testing.openai import text_reply
from bot.testing.stored import age_everything, cli, sql


async def _dm_turn(bot: Harness, question: str, answer: str, user: str = "U1") -> dict:
    bot.llm.script(text_reply(answer))
    event = dm(question, user=user)
    await bot.send(event)
    await bot.slack.wait_for(
        lambda: (
            any(text_of(m) == answer for m in bot.slack.bot_messages("D1"))
            and not bot.runtime.bot.tasks
        )
    )
    return event


async def test_message_deleted_in_slack_is_removed_from_history(bot: Harness) -> None:
    secret = await _dm_turn(bot, "my PIN is 4321", "Noted.")
    reply_ts = bot.slack.bot_messages("D1")[0]["ts"]
    for deleted in (secret["ts"], reply_ts):
        deletion = {
            "type": "message",
            "subtype": "message_deleted",
            "channel": "D1",
            "channel_type": "im",
            "hidden": True,
            "ts": f"{time.time():.6f}",
            "deleted_ts": deleted,
            "previous_message": {"type": "message", "ts": deleted, "text": "..."},
        }
        assert await bot.send(deletion) == 200
    await bot.slack.wait_for(
        lambda: bot.runtime is not None and not bot.runtime.bot.tasks, what="idle"
    )
    for _ in range(100):
        rows = await sql(bot.database_url, "SELECT content FROM messages")
        if not rows:
            break
        await asyncio.sleep(0.05)
    assert rows == []
    await _dm_turn(bot, "what is my PIN?", "I don't know.")
    contents = [m["content"] for m in bot.llm.requests[-1]["messages"][1:]]
    assert contents == ["what is my PIN?"]


async def test_retention_purge_runs_inside_the_bot(harness: Harness) -> None:
    bot = await harness.start(retention_days=1, purge_interval=0.1)
    await _dm_turn(bot, "an old question", "an old answer")
    await age_everything(bot.database_url, days=2)
    for _ in range(200):
        if not await sql(bot.database_url, "SELECT id FROM messages"):
            break
        await asyncio.sleep(0.05)
    assert await sql(bot.database_url, "SELECT id FROM messages") == []
    await _dm_turn(bot, "a new question", "a new answer")
    contents = [m["content"] for m in bot.llm.requests[-1]["messages"][1:]]
    assert contents == ["a new question"]
    assert 'slackbot_messages_purged_total{reason="retention"} 2.0' in await bot.scrape()


async def test_purge_export_and_erase_commands(bot: Harness) -> None:
    await _dm_turn(bot, "private to U1", "answer to U1")
    bot.llm.script(text_reply("answer in channel"))
    shared = await bot.mention("U1 asks in a channel")
    await bot.wait_reply_done("C1", shared["ts"])
    bot.llm.script(text_reply("answer to U2"))
    await bot.send(channel_message("U2 follows up", user="U2", thread_ts=shared["ts"]))
    await bot.wait_reply_done("C1", shared["ts"], count=2)
    await bot.stop()
    url = bot.database_url

    code, exported = await cli("export-user", "U1", url=url)
    assert code == 0, exported
    rows = exported["messages"]
    assert [(r["channel_id"], r["role"], r["content"]) for r in rows] == [
        ("D1", "user", "private to U1"),
        ("D1", "assistant", "answer to U1"),
        ("C1", "user", "U1 asks in a channel"),
    ]
    answers = dict(await sql(url, "SELECT content, id FROM messages WHERE role = 'assistant'"))
    for message, user in [
        ("answer in channel", "U1"),
        ("answer to U1", "U2"),
        ("answer to U2", "U2"),
    ]:
        await sql(
            url,
            "INSERT INTO feedback (message_id, team_id, channel_id, user_id, rating) "
            f"VALUES ({answers[message]}, 'T1', 'C1', '{user}', 'good')",
        )
    assert await cli("erase-user", "U1", url=url) == (0, {"user_id": "U1", "deleted": 3})
    # U1's own rating and every rating of an erased message are gone; U2's other rating stays.
    assert await sql(url, "SELECT message_id, user_id FROM feedback") == [
        (answers["answer to U2"], "U2")
    ]
    assert (await cli("export-user", "U1", url=url))[1]["messages"] == []
    left = await sql(url, "SELECT role, content FROM messages ORDER BY id")
    assert left == [
        ("assistant", "answer in channel"),
        ("user", "U2 follows up"),
        ("assistant", "answer to U2"),
    ]

    assert (await cli("purge", "--days", "1", url=url))[1]["deleted"] == 0
    await age_everything(url, days=3)
    assert (await cli("purge", "--days", "1", url=url))[1]["deleted"] == 3
    assert await sql(url, "SELECT id FROM messages") == []
    code, missing = await cli("purge", url=url)
    assert code == 2 and "RETENTION_DAYS" in missing["stderr"]
