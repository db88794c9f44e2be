"""GET /metrics through the real app: counters move with what the turns actually did."""

from __future__ import annotations

import re

from bot.testing.harness import METRICS_TOKEN, Harness
from bot.testing.openai import text_reply, tool_call_reply

ANSWER = "Metrics are numbers that tell a story about a running process."


async def scrape(bot: Harness) -> dict[str, float]:
    """Fetch /metrics and parse its samples into {'name{labels}': value}."""
    assert bot.http is not None
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with bot.http.get(f"{bot.url}/metrics", headers=headers) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


async def test_metrics_count_turns_latency_tokens_retries_429s_and_tools(bot: Harness) -> None:
    bot.llm.script(
        text_reply(
            ANSWER, usage={"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52}
        ),
        text_reply("Second answer after a cut stream.", cut_after=3),
        text_reply("Second answer after a cut stream."),
        tool_call_reply([("call_1", "no_such_tool", "{}")]),
        text_reply("Done without that tool."),
    )
    first = await bot.mention("what are metrics?")
    await bot.wait_reply_done("C1", first["ts"])
    before = await scrape(bot)
    assert before['slackbot_turns_total{outcome="complete"}'] == 1
    assert before["slackbot_first_token_seconds_count"] == 1
    assert before["slackbot_turn_seconds_count"] == 1
    assert before["slackbot_turn_seconds_sum"] >= before["slackbot_first_token_seconds_sum"] > 0
    assert before['slackbot_tokens_total{kind="prompt"}'] == 40
    assert before['slackbot_tokens_total{kind="completion"}'] == 12
    assert before["slackbot_active_streams"] == 0

    bot.slack.fail_next("chat.update", status=429, retry_after=1)
    second = await bot.mention("again, with a broken stream")
    await bot.wait_reply_done("C1", second["ts"])
    third = await bot.mention("use a tool")
    await bot.wait_reply_done("C1", third["ts"])
    after = await scrape(bot)
    assert after['slackbot_turns_total{outcome="complete"}'] == 3
    retries = sum(v for k, v in after.items() if k.startswith("slackbot_stream_retries_total"))
    assert retries == 1
    assert after["slackbot_slack_rate_limited_total"] == bot.slack.rate_limited == 1
    assert after['slackbot_tool_calls_total{outcome="error",tool="unknown"}'] == 1
    buckets = [k for k in after if re.match(r"slackbot_first_token_seconds_bucket", k)]
    assert buckets and after['slackbot_first_token_seconds_bucket{le="+Inf"}'] == 3


async def test_active_streams_gauge_counts_an_answer_in_flight(bot: Harness) -> None:
    bot.llm.script(text_reply("slow " * 30, delay=0.05))
    event = await bot.mention("take your time")
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("chat.update")) >= 1)
    assert (await scrape(bot))["slackbot_active_streams"] == 1
    await bot.wait_reply_done("C1", event["ts"])
    assert (await scrape(bot))["slackbot_active_streams"] == 0
