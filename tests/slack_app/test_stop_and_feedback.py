"""The Stop button on a streaming reply and the feedback buttons on a finished one."""

from __future__ import annotations

from bot import texts
from bot.db.records import ThreadKey
from bot.slack.reply.markup import FEEDBACK_ACTION, STOP_ACTION
from bot.testing.harness import Harness, text_of
from bot.testing.interactive import click, element
from bot.testing.openai import text_reply

SLOW = "word " * 300  # 300 chunks, 20 ms apart: about 6 s unless stopped


async def streaming_reply(bot: Harness) -> tuple[dict, dict]:
    """Mention the bot with a slow answer; return the event and the reply once text shows."""
    bot.llm.script(text_reply(SLOW, delay=0.02))
    event = await bot.mention("tell me a long story")

    def showing_text() -> bool:
        bots = [m for m in bot.slack.replies("C1", event["ts"]) if m.get("bot_id")]
        return bool(bots) and text_of(bots[0]).startswith("word")

    await bot.slack.wait_for(showing_text, timeout=10)
    reply = [m for m in bot.slack.replies("C1", event["ts"]) if m.get("bot_id")][0]
    return event, reply


def ephemerals(bot: Harness, user: str) -> list[str]:
    return [
        c.args["text"]
        for c in bot.slack.calls_to("chat.postEphemeral")
        if c.args.get("user") == user
    ]


async def stored_reply(bot: Harness, thread_ts: str):
    assert bot.runtime is not None and bot.runtime.bot is not None
    rows = await bot.runtime.bot.store.history(ThreadKey("T1", "C1", thread_ts), limit=10)
    return [r for r in rows if r.role == "assistant"][-1]


async def test_asker_stops_a_streaming_reply(bot: Harness) -> None:
    event, reply = await streaming_reply(bot)
    assert element(reply, STOP_ACTION) is not None, "a streaming reply shows a Stop button"
    status, _ = await bot.interact(click(reply, STOP_ACTION, user="U1"))
    assert status == 200
    replies = await bot.wait_reply_done("C1", event["ts"])
    final = replies[0]
    shown = text_of(final)
    assert shown.endswith(texts.STOPPED_BY_USER.strip()), shown
    assert shown.startswith("word") and shown.count("word") < 300, "keeps what was written"
    assert element(final, STOP_ACTION) is None and element(final, FEEDBACK_ACTION) is None
    await bot.llm.wait_for(lambda: bot.llm.disconnects >= 1 and bot.llm.open_streams == 0)
    row = await stored_reply(bot, event["ts"])
    assert row.status == "stopped"
    assert row.content and SLOW.startswith(row.content), "the history keeps the written part"
    assert ephemerals(bot, "U1") == []


async def test_only_the_asker_or_an_admin_may_stop(bot: Harness) -> None:
    bot.slack.add_user("U9", is_admin=True)
    event, reply = await streaming_reply(bot)
    await bot.interact(click(reply, STOP_ACTION, user="U2"))
    await bot.slack.wait_for(lambda: bool(ephemerals(bot, "U2")))
    assert ephemerals(bot, "U2") == [texts.STOP_NOT_ALLOWED.format(asker="U1")]
    assert bot.llm.disconnects == 0, "a stranger's click changes nothing"
    await bot.interact(click(reply, STOP_ACTION, user="U9"))
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert text_of(replies[0]).endswith(texts.STOPPED_BY_USER.strip())
    assert (await stored_reply(bot, event["ts"])).status == "stopped"
    users_info = [c.args.get("user") for c in bot.slack.calls_to("users.info")]
    assert "U2" in users_info and "U9" in users_info


async def test_stop_after_the_answer_finished_says_so(bot: Harness) -> None:
    bot.llm.script(text_reply("Short answer."))
    event = await bot.mention("quick one")
    await bot.wait_reply_done("C1", event["ts"])
    placeholder_post = bot.slack.calls_to("chat.postMessage")[0]
    message = {
        **bot.slack.message("C1", placeholder_post.response["ts"]),
        "blocks": placeholder_post.args["blocks"],
    }  # a click on an old client view
    await bot.interact(click(message, STOP_ACTION, user="U1"))
    await bot.slack.wait_for(lambda: bool(ephemerals(bot, "U1")))
    assert ephemerals(bot, "U1") == [texts.STOP_TOO_LATE]
    assert text_of(bot.slack.message("C1", placeholder_post.response["ts"])) == "Short answer."


async def test_feedback_buttons_on_a_finished_reply_store_ratings(bot: Harness) -> None:
    bot.llm.script(text_reply("Paris is the capital of France."))
    event = await bot.mention("capital of France?")
    final = (await bot.wait_reply_done("C1", event["ts"]))[0]
    assert text_of(final) == "Paris is the capital of France."
    assert element(final, STOP_ACTION) is None, "the Stop button goes when the answer ends"
    assert element(final, FEEDBACK_ACTION) is not None
    assert final["text"] == "Paris is the capital of France.", "notification fallback"
    row = await stored_reply(bot, event["ts"])
    assert row.status == "complete"

    await bot.interact(click(final, FEEDBACK_ACTION, user="U1", positive=True))
    await bot.interact(click(final, FEEDBACK_ACTION, user="U2", positive=False))
    await bot.slack.wait_for(lambda: ephemerals(bot, "U1") and ephemerals(bot, "U2"))
    store = bot.runtime.bot.store  # type: ignore[union-attr]
    assert await store.feedback_for(row.id) == {"U1": "good", "U2": "bad"}
    assert ephemerals(bot, "U1") == [texts.FEEDBACK_THANKS["good"]]

    await bot.interact(click(final, FEEDBACK_ACTION, user="U1", positive=False))
    await bot.slack.wait_for(lambda: len(ephemerals(bot, "U1")) == 2)
    assert await store.feedback_for(row.id) == {"U1": "bad", "U2": "bad"}, "a user changes it"


async def test_buttons_can_be_turned_off(harness: Harness) -> None:
    bot = await harness.start(reply_buttons=False)
    bot.llm.script(text_reply("Plain."))
    event = await bot.mention("hi")
    final = (await bot.wait_reply_done("C1", event["ts"]))[0]
    assert final["markdown_text"] == "Plain." and not final["blocks"]
    assert all("blocks" not in c.args for c in bot.slack.calls if c.method.startswith("chat."))
