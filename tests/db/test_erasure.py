"""Erasing a user leaves nothing of theirs in any table; retention takes ratings along."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from bot.db.engine import create_engine
from bot.db.privacy import Privacy
from bot.slack.reply.markup import FEEDBACK_ACTION
from bot.testing.harness import Harness, dm, text_of
from bot.testing.interactive import click
from bot.testing.openai import text_reply, tool_call_reply
from bot.testing.stored import age_everything, cli, sql

WHO = [("call_who", "current_user", "{}")]


async def every_row(url: str) -> dict[str, list[tuple]]:
    """Return every row of every table, by table."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            return {
                table: [tuple(r) for r in (await conn.execute(text(f'SELECT * FROM "{table}"')))]
                for table in tables
            }
    finally:
        await engine.dispose()


async def test_erase_user_leaves_nothing_of_theirs_in_any_table(bot: Harness) -> None:
    bot.slack.add_user("U7", real_name="Ada Lovelace")
    # A DM with a tool that looks them up, a channel question (tool too) they rate, and a
    # channel setting they saved; U2's follow-up in the same thread is not theirs.
    bot.llm.script(tool_call_reply(WHO), text_reply("You are Ada."))
    await bot.send(dm("who am I?", user="U7"))
    await bot.slack.wait_for(
        lambda: any(text_of(m) == "You are Ada." for m in bot.slack.bot_messages("D1"))
    )
    bot.llm.script(tool_call_reply(WHO), text_reply("Someone asked."))
    asked = await bot.mention("who is asking?", user="U7")
    [answer] = await bot.wait_reply_done("C1", asked["ts"])
    await bot.interact(click(answer, FEEDBACK_ACTION, user="U7"))
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("chat.postEphemeral")))
    bot.llm.script(text_reply("Hello U2."))
    await bot.mention("and me?", user="U2", thread_ts=asked["ts"])
    await bot.wait_reply_done("C1", asked["ts"], count=2)
    store = bot.runtime.bot.store  # type: ignore[union-attr]
    await store.save_channel_settings("T1", "C1", {"preset": "short", "updated_by": "U7"})
    await bot.stop()
    url = bot.database_url
    before = await every_row(url)
    assert any("U7" in repr(row) for row in before["messages"])
    assert any("Ada Lovelace" in repr(row) for row in before["messages"]), "a tool result"
    assert any("U7" in repr(row) for row in before["feedback"] + before["channel_settings"])

    code, erased = await cli("erase-user", "U7", url=url)
    assert code == 0 and erased["deleted"] > 0
    after = await every_row(url)
    left = {
        t: [r for r in rows if "U7" in repr(r) or "Ada" in repr(r)] for t, rows in after.items()
    }
    assert {t: rows for t, rows in left.items() if rows} == {}
    contents = [row for row in after["messages"] if "Hello U2." in repr(row)]
    assert contents, "other people's messages stay"
    assert [r for r in after["channel_settings"] if "short" in repr(r)], "the setting stays"


async def test_purge_deletes_ratings_with_their_answers_in_batches(bot: Harness) -> None:
    bot.llm.script(*[text_reply(f"answer {i}") for i in range(3)])
    for i in range(3):
        event = await bot.mention(f"question {i}")
        [answer] = await bot.wait_reply_done("C1", event["ts"])
        await bot.interact(click(answer, FEEDBACK_ACTION, user="U1"))
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("chat.postEphemeral")) == 3)
    await bot.stop()
    url = bot.database_url
    assert len(await sql(url, "SELECT id FROM feedback")) == 3
    await age_everything(url, days=3)
    engine = create_engine(url)
    try:
        cutoff = datetime.now(UTC) - timedelta(days=1)
        # A batch smaller than the 6 messages: several short transactions.
        assert await Privacy(engine).purge_before(cutoff, batch=2) == 6
    finally:
        await engine.dispose()
    assert await sql(url, "SELECT id FROM feedback") == []
    assert await sql(url, "SELECT message_ts FROM claims") == []


async def test_foreign_keys_hold_on_every_backend(bot: Harness) -> None:
    """Ratings cannot point at a missing answer, and go when their answer goes."""
    bot.llm.script(text_reply("rated"))
    event = await bot.mention("rate this")
    [answer] = await bot.wait_reply_done("C1", event["ts"])
    await bot.interact(click(answer, FEEDBACK_ACTION, user="U1"))
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("chat.postEphemeral")))
    await bot.stop()
    url = bot.database_url
    with pytest.raises(IntegrityError):
        await sql(
            url,
            "INSERT INTO feedback (message_id, team_id, channel_id, user_id, rating) "
            "VALUES (987654, 'T1', 'C1', 'U1', 'good')",
        )
    await sql(url, "DELETE FROM messages")  # not through the bot: the cascade alone
    assert await sql(url, "SELECT id FROM feedback") == []
