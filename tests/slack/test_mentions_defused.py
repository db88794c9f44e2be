"""Attack tests: nothing the model writes pings a whole channel or hides where a link goes.

Every Web API call the fake Slack recorded is searched for a live broadcast token
(`<!channel>`, `<!here>`, `<!everyone>`, `<!subteam^…>`), whatever field carried it.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bot import texts
from bot.db.records import NewMessage, ThreadKey
from bot.db.store import Store
from bot.testing.harness import Harness, dm, text_of
from bot.testing.openai import text_reply, tool_call_reply

LIVE = re.compile(r"<[\s\u200b\u2060\ufeff]*!(channel|here|everyone|subteam\^)", re.I)
PING = "Hi <!channel> and <!here|here>, `<!everyone>`:\n\n```\n<!subteam^S1|@devs> ship\n```\n"


def live_broadcasts(bot: Harness) -> list[str]:
    """Return the methods of recorded calls that carried a live broadcast token."""
    return [
        call.method
        for call in bot.slack.calls
        if LIVE.search(json.dumps(call.args, ensure_ascii=False))
    ]


async def test_table_cell_backticks_cannot_close_the_code_block(bot: Harness) -> None:
    bot.llm.script(text_reply("| a |\n|---|\n| ``` |\n| <!channel> hi |"))
    event = await bot.mention("make a table")
    (reply,) = await bot.wait_reply_done("C1", event["ts"])
    shown = text_of(reply)
    assert shown.startswith("```\n") and shown.endswith("\n```")
    assert shown.count("```") == 2, "a cell's backticks must not close the block"
    assert live_broadcasts(bot) == []


@pytest.mark.parametrize("buttons", [True, False])
async def test_broadcast_tokens_never_reach_slack_raw_while_streaming_or_final(
    harness: Harness, buttons: bool
) -> None:
    bot = await harness.start(reply_buttons=buttons)
    bot.llm.script(text_reply(PING * 3, pieces=9, delay=0.05))
    event = await bot.mention("ping everyone")
    (reply,) = await bot.wait_reply_done("C1", event["ts"])
    assert len(bot.slack.calls_to("chat.update")) >= 2, "intermediate edits were made"
    assert live_broadcasts(bot) == []
    assert "<ǃsubteam^S1|@devs> ship" in text_of(reply), "code keeps its look"


async def test_broadcast_tokens_defused_across_a_rollover(harness: Harness) -> None:
    bot = await harness.start(slack_message_max_chars=300)
    bot.llm.script(text_reply(PING * 12, pieces=20, delay=0.01))
    event = await bot.mention("a long ping")
    replies = await bot.wait_reply_done("C1", event["ts"], count=2)
    assert len(replies) >= 2
    assert live_broadcasts(bot) == []


async def test_broadcast_tokens_defused_in_native_stream_chunks(harness: Harness) -> None:
    bot = await harness.start(stream_mode="native", native_flush_interval=0.05)
    root = bot.slack.add_message("D1", "hello", "U1")
    bot.llm.script(text_reply(PING * 3, pieces=9, delay=0.05))
    await bot.send(dm("ping", thread_ts=root))
    await bot.wait_reply_done("D1", root)
    assert bot.slack.calls_to("chat.appendStream") or bot.slack.calls_to("chat.stopStream")
    assert live_broadcasts(bot) == []


async def test_tool_named_like_a_broadcast_does_not_ping(bot: Harness) -> None:
    bot.llm.script(tool_call_reply([("c1", "<!channel>", "{}")]), text_reply("Done."))
    event = await bot.mention("call a tool")
    await bot.wait_reply_done("C1", event["ts"])
    assert live_broadcasts(bot) == []


async def test_crash_recovery_edit_defuses_saved_model_text(harness: Harness) -> None:
    """The recovery edit sends text saved before a crash; it is formatted and defused too."""
    bot = await harness.start(replica_id="crashed")
    await bot.stop()
    key = ThreadKey("T1", "C1", "1600000000.000001")
    ts = bot.slack.add_message("C1", "_Thinking…_", "UBOT", thread_ts=key.thread_ts, bot_id="BBOT")
    engine = create_async_engine(harness.database_url)
    try:
        await Store(engine, owner="crashed").append(
            key, [NewMessage("assistant", PING, slack_ts=ts, status="streaming")]
        )
    finally:
        await engine.dispose()
    bot.slack.calls.clear()
    await bot.start()
    await bot.slack.wait_for(lambda: bot.slack.calls_to("chat.update"))
    (edit,) = bot.slack.calls_to("chat.update")
    assert edit.response["ok"]
    assert text_of(edit.args).endswith(texts.INTERRUPTED.strip())
    assert "Hi &lt;!channel>" in text_of(edit.args), "prose is escaped as in a live reply"
    assert live_broadcasts(bot) == []


async def test_link_label_pretending_to_be_another_url_shows_its_real_target(
    bot: Harness,
) -> None:
    bot.llm.script(
        text_reply(
            "Log in at [https://slack.com](https://evil.example/login), "
            "or <https://evil.example/x|www.google.com>; docs at [the docs](https://docs.example)"
            " and [slack.com](https://api.slack.com/methods)."
        )
    )
    event = await bot.mention("where do I log in?")
    (reply,) = await bot.wait_reply_done("C1", event["ts"])
    assert text_of(reply) == (
        "Log in at https://evil.example/login, or https://evil.example/x; docs at "
        "[the docs](https://docs.example) and [slack.com](https://api.slack.com/methods)."
    )
