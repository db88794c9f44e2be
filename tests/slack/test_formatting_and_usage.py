"""Formatting through the real app (both ways), and the optional usage footer."""

from __future__ import annotations

from bot.testing.harness import Harness, channel_message, text_of
from bot.testing.openai import text_reply

ANSWER = (
    "**Summary** for <@U7>, not <!channel>:\n\n"
    "| Lang | Generic |\n|---|---|\n| Rust | Vec<T> |\n| Java | List<T> |\n\n"
    "Use `Vec<u8>` & see <https://doc.rust-lang.org|the book>."
)


async def test_model_markdown_reaches_slack_readable_and_safe(bot: Harness) -> None:
    bot.llm.script(text_reply(ANSWER, pieces=7, delay=0.005))
    event = channel_message("<@UBOT> compare &lt;generics&gt; &amp; ask <@U7|ann>, see <#C9|dev>")
    await bot.send({**event, "type": "app_mention"})
    final = (await bot.wait_reply_done("C1", event["ts"]))[0]
    assert bot.llm.requests[0]["messages"][-1]["content"] == (
        "compare <generics> & ask <@U7>, see <#C9|dev>"
    ), "Slack's escaping is undone before the model reads it"
    assert text_of(final) == (
        "**Summary** for <@U7>, not &lt;!channel>:\n\n"
        "```\nLang | Generic\n-----+--------\nRust | Vec<T>\nJava | List<T>\n```\n\n"
        "Use `Vec<u8>` & see [the book](https://doc.rust-lang.org)."
    )
    for call in bot.slack.calls_to("chat.update"):
        shown = text_of(call.args)
        assert "<!channel>" not in shown, "no edit ever pings the channel"
        assert shown.count("**") % 2 == 0, f"no literal ** while streaming: {shown!r}"


async def test_usage_footer_shows_tokens_time_and_speed(harness: Harness) -> None:
    bot = await harness.start(usage_footer=True)
    usage = {"prompt_tokens": 1234, "completion_tokens": 56, "total_tokens": 1290}
    bot.llm.script(text_reply("Forty-two.", usage=usage), text_reply("Sure."))
    event = await bot.mention("meaning of life?")
    final = (await bot.wait_reply_done("C1", event["ts"]))[0]
    shown = text_of(final)
    assert shown.startswith("Forty-two.\n\n_:bar_chart: 1,234 tokens in · 56 out · ")
    assert shown.endswith(" tokens/s_") and " s · " in shown
    assert bot.llm.requests[0]["stream_options"] == {"include_usage": True}
    await bot.send(channel_message("and again?", thread_ts=event["ts"]))
    await bot.wait_reply_done("C1", event["ts"], count=2)
    history = [m["content"] for m in bot.llm.requests[1]["messages"]]
    assert "Forty-two." in history and not any("tokens/s" in (c or "") for c in history), (
        "the footer is not part of what the model reads back"
    )


async def test_no_usage_footer_by_default(bot: Harness) -> None:
    bot.llm.script(text_reply("Plain answer."))
    event = await bot.mention("hi")
    final = (await bot.wait_reply_done("C1", event["ts"]))[0]
    assert text_of(final) == "Plain answer."
