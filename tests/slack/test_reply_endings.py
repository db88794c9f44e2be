"""Every reply ends right under the strict reading of chat.update: no stale Stop button.

The fake Slack keeps a message's blocks unless an edit gives `blocks` or `text` (Slack's
documented rule, read strictly for `markdown_text` alone), so a final edit that does not
set `blocks` shows up here as the old text with a live Stop button. Every test of the
suite is also checked for both at teardown (`tests/conftest.py`).
"""

from __future__ import annotations

from bot import texts
from bot.slack.reply.markup import FEEDBACK_ACTION, STOP_ACTION
from bot.testing.harness import Harness, text_of
from bot.testing.interactive import click, element
from bot.testing.openai import error_reply, text_reply

SLOW = "word " * 300


def bot_replies(bot: Harness, thread_ts: str) -> list[dict]:
    return [m for m in bot.slack.replies("C1", thread_ts) if m.get("bot_id")]


def updates_of(bot: Harness, ts: str) -> list[dict]:
    return [c.args for c in bot.slack.calls_to("chat.update") if c.args.get("ts") == ts]


async def test_stop_pressed_ends_with_stopped_and_no_button(bot: Harness) -> None:
    bot.llm.script(text_reply(SLOW, delay=0.02))
    event = await bot.mention("tell me a long story")
    await bot.slack.wait_for(
        lambda: any(text_of(m).startswith("word") for m in bot_replies(bot, event["ts"]))
    )
    reply = bot_replies(bot, event["ts"])[0]
    await bot.interact(click(reply, STOP_ACTION, user="U1"))
    [final] = await bot.wait_reply_done("C1", event["ts"])
    assert text_of(final).endswith(texts.STOPPED_BY_USER.strip())
    assert element(final, STOP_ACTION) is None and element(final, FEEDBACK_ACTION) is None
    assert [b["type"] for b in final["blocks"]] == ["markdown"]
    assert all("blocks" in args for args in updates_of(bot, final["ts"]))


async def test_model_that_keeps_failing_ends_with_the_error_and_no_button(bot: Harness) -> None:
    bot.llm.script(*[error_reply(500, "boom", type="server_error") for _ in range(4)])
    event = await bot.mention("anyone home?")
    [final] = await bot.wait_reply_done("C1", event["ts"])
    assert text_of(final) == texts.MODEL_ERROR, "not the placeholder"
    assert texts.PLACEHOLDER not in text_of(final)
    assert element(final, STOP_ACTION) is None
    assert [b["type"] for b in final["blocks"]] == ["markdown"]


async def test_answer_cut_by_shutdown_ends_whole_and_without_button_after_restart(
    bot: Harness,
) -> None:
    bot.llm.script(text_reply(SLOW, delay=0.05), text_reply(SLOW))  # the second: the resume
    event = await bot.mention("a long one")
    await bot.slack.wait_for(
        lambda: any(text_of(m).startswith("word") for m in bot_replies(bot, event["ts"]))
    )
    await bot.stop(grace=0.1)
    [left] = bot_replies(bot, event["ts"])
    assert element(left, STOP_ACTION) is not None, "left streaming for the next replica"
    await bot.start()
    [final] = await bot.wait_reply_done("C1", event["ts"])
    assert text_of(final).strip() == SLOW.strip()
    assert element(bot_replies(bot, event["ts"])[0], STOP_ACTION) is None


async def test_rolled_over_parts_are_posted_final_and_never_edited(harness: Harness) -> None:
    bot = await harness.start(slack_message_max_chars=600)
    answer = "\n\n".join(f"Paragraph {i}: " + ("lorem ipsum " * 20).strip() for i in range(30))
    bot.llm.script(text_reply(answer, pieces=len(answer)))  # the whole answer at once
    event = await bot.mention("a very long answer")
    await bot.slack.wait_for(
        lambda: (
            len(bot_replies(bot, event["ts"])) > 5 and bot.finished(bot_replies(bot, event["ts"]))
        ),
        timeout=20,
    )
    replies = bot_replies(bot, event["ts"])
    assert "\n\n".join(text_of(m).strip() for m in replies) == answer.strip()
    assert not any(element(m, STOP_ACTION) for m in replies)
    assert element(replies[-1], FEEDBACK_ACTION) is not None, "the last part ends the answer"
    # The first message (the placeholder) and the last may be edited; every part between
    # is posted once, already final.
    for middle in replies[1:-1]:
        assert updates_of(bot, middle["ts"]) == [], "posted final, never edited"
        assert element(middle, FEEDBACK_ACTION) is None
    posts = [c for c in bot.slack.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    assert len(posts) == len(replies), "one chat.postMessage per message"


async def test_stop_pressed_before_the_turn_started_is_honoured(bot: Harness) -> None:
    """The placeholder's Stop button works while the turn is still being set up."""
    root = bot.slack.add_message("C1", "a thread the bot is not part of", "U2")
    bot.slack.delay("conversations.replies", 1.0)  # importing that thread takes a while
    bot.llm.script(text_reply("never asked"))
    event = await bot.mention("what do you think?", thread_ts=root)
    await bot.slack.wait_for(lambda: bool(bot_replies(bot, root)))
    placeholder = bot_replies(bot, root)[0]
    status, _ = await bot.interact(click(placeholder, STOP_ACTION, user="U1"))
    assert status == 200
    [final] = await bot.wait_reply_done("C1", root)
    assert text_of(final).endswith(texts.STOPPED_BY_USER.strip())
    assert bot.llm.requests == [], "the model was never asked"
    assert not bot.slack.calls_to("chat.postEphemeral"), "not told it was too late"
    assert event["thread_ts"] == root
