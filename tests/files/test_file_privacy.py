"""What was read from files is forgotten with Slack deletions, retention and erase-user."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from bot.db.privacy import Privacy
from bot.testing.harness import Harness, dm, text_of
from bot.testing.openai import text_reply
from bot.testing.stored import age_everything, sql


async def _dm_with_file(bot: Harness, content: bytes, answer: str, user: str = "U1") -> dict:
    file = bot.slack.add_file("memo.txt", content, "text/plain", user=user, channel="D1")
    bot.llm.script(text_reply(answer))
    event = dm("keep this", user=user)
    event.update(subtype="file_share", files=[file], upload=True)
    await bot.send(event)
    await bot.slack.wait_for(
        lambda: (
            any(text_of(m) == answer for m in bot.slack.bot_messages("D1"))
            and not bot.runtime.bot.tasks
        )
    )
    return {**event, "file_id": file["id"]}


async def _stored_files(bot: Harness) -> list[tuple]:
    return await sql(bot.database_url, "SELECT file_id, content FROM message_files")


async def _until_no_files(bot: Harness) -> list[tuple]:
    for _ in range(100):
        rows = await _stored_files(bot)
        if not rows:
            break
        await asyncio.sleep(0.05)
    return rows


async def test_file_deleted_in_slack_is_forgotten(bot: Harness) -> None:
    sent = await _dm_with_file(bot, b"launch code 0000", "Noted.")
    assert await _stored_files(bot) == [(sent["file_id"], "launch code 0000")]
    deleted = {"type": "file_deleted", "file_id": sent["file_id"], "event_ts": f"{time.time()}"}
    assert await bot.send(deleted) == 200
    assert await _until_no_files(bot) == []
    bot.llm.script(text_reply("I don't know."))
    await bot.send(dm("what was the code?"))
    await bot.slack.wait_for(lambda: len(bot.llm.requests) == 2 and not bot.runtime.bot.tasks)
    assert "launch code" not in str(bot.llm.requests[-1]["messages"])


async def test_message_deleted_in_slack_takes_its_files(bot: Harness) -> None:
    sent = await _dm_with_file(bot, b"door code 1234", "Noted.")
    deletion = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": "D1",
        "channel_type": "im",
        "hidden": True,
        "ts": f"{time.time():.6f}",
        "deleted_ts": sent["ts"],
    }
    assert await bot.send(deletion) == 200
    assert await _until_no_files(bot) == []


async def test_retention_purges_files_with_their_messages(bot: Harness) -> None:
    await _dm_with_file(bot, b"old news", "Noted.")
    await age_everything(bot.database_url, days=3)
    privacy = Privacy(bot.runtime.engine)
    assert await privacy.purge_before(datetime.now(UTC) - timedelta(days=1)) == 2
    assert await _stored_files(bot) == []


async def test_export_and_erase_user_cover_their_files(bot: Harness) -> None:
    await _dm_with_file(bot, b"my address is 1 Main St", "Noted.", user="U1")
    privacy = Privacy(bot.runtime.engine)
    exported = await privacy.export_user("U1")
    [question] = [row for row in exported if row["role"] == "user"]
    assert question["files"] == [
        {
            "file_id": question["files"][0]["file_id"],
            "name": "memo.txt",
            "mimetype": "text/plain",
            "kind": "text",
            "content": "my address is 1 Main St",
        }
    ]
    assert await privacy.erase_user("U1") == 2
    assert await _stored_files(bot) == []
