"""`summarize_channel` through the real app: paging conversations.history within a window."""

from __future__ import annotations

import json
import time

from bot.testing.harness import Harness
from bot.testing.toolchecks import results


def seed(bot: Harness, channel: str, count: int, *, minutes_ago: float = 60) -> list[str]:
    start = time.time() - minutes_ago * 60
    return [
        bot.slack.add_message(channel, f"message {i}", "U2", ts=f"{start + i:.6f}")
        for i in range(count)
    ]


async def test_recent_messages_paged_oldest_first_within_the_window(bot: Harness) -> None:
    seed(bot, "C2", 1, minutes_ago=60 * 30)  # outside a 24-hour window
    recent = seed(bot, "C2", 250)
    bot.slack.add_message("C2", "a reply", "U3", thread_ts=recent[0], ts=f"{time.time():.6f}")
    found = await results(bot, [("c1", "summarize_channel", '{"channel": "<#C2|random>"}')])
    summary = json.loads(found["summarize_channel"][0])
    lines = summary["transcript"].splitlines()
    texts = [line.split(": ", 1)[1] for line in lines]
    assert texts[0] == "message 0 (1 replies)" and summary["channel_id"] == "C2"
    assert texts[1:] == [f"message {i}" for i in range(1, 250)], "the window, oldest first"
    assert summary["count"] == 250 and "<@U2>" in lines[0]
    pages = bot.slack.calls_to("conversations.history")
    assert len(pages) == 2 and all(int(p.args["limit"]) <= 200 for p in pages)
    assert all(float(p.args["oldest"]) > time.time() - 25 * 3600 for p in pages)
    assert pages[1].args["cursor"] and "note" not in summary


async def test_a_rate_limit_on_the_first_page_is_an_error_for_the_model(bot: Harness) -> None:
    seed(bot, "C1", 3)
    bot.slack.fail_next("conversations.history", status=200, error="ratelimited")
    found = await results(bot, [("c1", "summarize_channel", '{"hours": 3}')])
    assert found["summarize_channel"][0].startswith("Error: Slack is limiting how often")


async def test_a_rate_limit_on_a_later_page_keeps_what_was_read(bot: Harness) -> None:
    seed(bot, "C1", 210)
    original = bot.slack.api_methods["conversations.history"]

    def second_page_limited(args: dict) -> dict:
        if args.get("cursor"):
            from bot.testing.slack import SlackError

            raise SlackError("ratelimited")
        return original(args)

    bot.slack.api_methods["conversations.history"] = second_page_limited
    found = await results(bot, [("c2", "summarize_channel", '{"hours": 3}')])
    summary = json.loads(found["summarize_channel"][0])
    assert summary["count"] == 200
    assert "Reading stopped early" in summary["note"]


async def test_a_private_channel_the_asker_is_not_in_is_not_read(bot: Harness) -> None:
    bot.slack.add_channel("G9", "secret", is_private=True, members=["UBOT", "U2"])
    seed(bot, "G9", 3)
    found = await results(bot, [("c1", "summarize_channel", '{"channel": "G9"}')])
    assert "cannot read that channel" in found["summarize_channel"][0]
    assert bot.slack.calls_to("conversations.history") == []
