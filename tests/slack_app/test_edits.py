"""Stored history follows Slack edits (`message_changed`): text and files, through the real app."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.testing.file_questions import ask_with_files
from bot.testing.harness import Harness, channel_message, next_ts

WIRE_ONLY = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def edited(original: dict[str, Any], text: str, **changes: Any) -> dict[str, Any]:
    """Build the `message_changed` event Slack sends when `original` is edited."""
    message = {k: v for k, v in original.items() if k not in ("channel", "channel_type")}
    message.update(text=text, edited={"user": original["user"], "ts": next_ts()}, **changes)
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": original["channel"],
        "channel_type": original.get("channel_type", "channel"),
        "ts": next_ts(),
        "event_ts": next_ts(),
        "message": message,
        "previous_message": {k: v for k, v in original.items() if k != "channel"},
    }


async def follow_up(bot: Harness, root: dict[str, Any], count: int) -> str:
    await bot.send(channel_message("and now?", thread_ts=root["ts"]))
    await bot.wait_reply_done("C1", root["ts"], count=count)
    return json.dumps(bot.llm.requests[-1]["messages"])


@WIRE_ONLY
async def test_edited_slack_messages_never_update_the_stored_history(bot: Harness) -> None:
    """Review finding: a secret pasted and then edited out lived on in follow-ups."""
    bot.llm.script("Use a longer one.", "Better.")
    root = await bot.mention("my password is hunter2, is it strong?")
    await bot.wait_reply_done("C1", root["ts"])
    assert "hunter2" in json.dumps(bot.llm.requests[-1]["messages"])
    await bot.send(edited(root, "<@UBOT> my password is [removed], is it strong?"))
    await bot.settle()
    sent = await follow_up(bot, root, 2)
    assert "hunter2" not in sent
    assert "my password is [removed], is it strong?" in sent


@WIRE_ONLY
async def test_a_file_removed_from_a_message_leaves_the_stored_history(bot: Harness) -> None:
    bot.llm.script("Looks right.", "Still right.")
    keys = bot.slack.add_file("keys.txt", b"API_KEY=abc123", "text/plain")
    root = await ask_with_files(bot, "is this config right?", [keys])
    await bot.wait_reply_done("C1", root["ts"])
    assert "abc123" in json.dumps(bot.llm.requests[-1]["messages"])
    await bot.send(edited(root, root["text"], files=[]))
    await bot.settle()
    sent = await follow_up(bot, root, 2)
    assert "abc123" not in sent and "is this config right?" in sent


@WIRE_ONLY
async def test_the_bots_own_edits_do_not_touch_the_history(bot: Harness) -> None:
    root = await bot.mention("say hello")
    [reply] = await bot.wait_reply_done("C1", root["ts"])
    mine = {"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": "tampered",
            "ts": reply["ts"], "channel": "C1"}  # fmt: skip
    await bot.send(edited(mine, "tampered"))
    await bot.settle()
    sent = await follow_up(bot, root, 2)
    assert "tampered" not in sent
