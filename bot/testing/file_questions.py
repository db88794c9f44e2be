"""Ask the bot questions with files attached, and read its answers."""

from __future__ import annotations

from typing import Any

from bot.testing.harness import Harness, channel_message, text_of


async def ask_with_files(bot: Harness, text: str, files: list[dict[str, Any]], **kw: Any) -> dict:
    """Mention the bot with files attached, as Slack sends it (app_mention + file_share)."""
    event = channel_message(f"<@UBOT> {text}", **kw)
    event.update(files=files, upload=True)
    await bot.send({**event, "type": "app_mention"})
    await bot.send({**event, "subtype": "file_share"})
    return event


async def answered(bot: Harness, event: dict) -> str:
    replies = await bot.wait_reply_done("C1", event["ts"])
    return text_of(replies[-1])
