"""A bot process killed while an answer is held against the limits: the hold expires."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.testing.clock import FakeWallClock
from bot.testing.harness import Harness, channel_message, text_of
from bot.testing.openai import FakeOpenAI, text_reply
from bot.testing.slack import FakeSlack
from bot.testing.usage_checks import reservations, used

LIMIT = {"usage_limit_user_daily_tokens": 25}


async def shown(bot: Harness, event: dict) -> str:
    replies = await bot.wait_reply_done("C1", event["ts"], timeout=20)
    return text_of(replies[0])


@pytest.mark.stop_button_may_remain  # the killed process's placeholder is recovery's to end
async def test_the_holds_of_a_killed_process_expire(
    launch: Any, slack: FakeSlack, llm: FakeOpenAI, tmp_path: Path
) -> None:
    gate = asyncio.Event()
    llm.script(text_reply("Never finished.", hold=gate))
    async with launch(USAGE_LIMIT_USER_DAILY_TOKENS="25", TURN_DEADLINE="5") as process:
        event = channel_message("<@UBOT> first")
        await process.send({**event, "type": "app_mention"})
        await llm.wait_for(lambda: llm.open_streams == 1)  # its hold is written, its request out
        await process.kill()  # SIGKILL: nothing releases the hold
    wall = FakeWallClock(datetime.now(UTC))
    other = Harness(slack, llm, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", wall=wall)
    try:
        await other.start(replica_id="survivor", **LIMIT)
        assert await reservations(other) == 1
        asked = len(llm.requests)
        refused = await shown(other, await other.mention("second"))
        assert "daily limit of 25 tokens" in refused, "the dead process's hold still counts"
        assert len(llm.requests) == asked
        wall.advance(seconds=5 + 60 + 1)  # past TURN_DEADLINE + 60 s: the hold has expired
        llm.script(text_reply("Answered.", usage=used(5, 5)))
        assert await shown(other, await other.mention("third")) == "Answered."
        assert await reservations(other) == 0, "the expired hold was deleted"
    finally:
        gate.set()
        await other.close()
