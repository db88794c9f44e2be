"""Message shortcuts: Summarize thread, Translate, Ask about this message, answered privately."""

from __future__ import annotations

import json

from bot import texts
from bot.slack_app import shortcuts
from bot.slack_app.share import POST_ACTION
from bot.testing.harness import Harness, text_of
from bot.testing.interactive import click, element, message_shortcut, question_values, submit
from bot.testing.openai import text_reply


def seed_thread(bot: Harness, channel: str = "C1") -> dict[str, str]:
    root = bot.slack.add_message(channel, "Should we ship on Friday?", "U2")
    bot.slack.add_message(channel, "Only if the migration is tested.", "U3", thread_ts=root)
    reply = bot.slack.add_message(channel, "It is, on staging.", "U2", thread_ts=root)
    return {"channel": channel, "ts": reply, "thread_ts": root, "user": "U2"}


def dm_thread(bot: Harness, user: str = "U1") -> tuple[str, dict]:
    """Return the asker's DM and the header message that opened the private answer."""
    dm = bot.slack.dm_of(user)
    headers = [m for m in bot.slack.bot_messages(dm) if not m["thread_ts"]]
    assert headers, f"nothing posted in {dm}"
    return dm, headers[-1]


async def private_answer(bot: Harness, user: str = "U1") -> tuple[str, dict, list[dict]]:
    await bot.slack.wait_for(lambda: bot.slack.bot_messages(bot.slack.dm_of(user)), timeout=10)
    dm, header = dm_thread(bot, user)
    replies = await bot.wait_reply_done(dm, header["ts"], count=2)  # the header and the answer
    return dm, header, [m for m in replies if m["ts"] != header["ts"]]


def last_prompt(bot: Harness) -> str:
    return bot.llm.requests[-1]["messages"][-1]["content"]


async def test_summarize_thread_streams_privately_and_can_be_posted(bot: Harness) -> None:
    message = seed_thread(bot)
    bot.llm.script(text_reply("- Ship Friday: migration tested on staging."))
    status, _ = await bot.interact(message_shortcut(shortcuts.SUMMARIZE, message))
    assert status == 200
    dm, header, answer = await private_answer(bot)
    assert dm == "DU1"
    assert text_of(header).startswith(":memo: Summary of the thread of <https://fake.slack.com/")
    assert "<#C1>" in text_of(header)
    assert text_of(answer[0]) == "- Ship Friday: migration tested on staging."
    prompt = last_prompt(bot)
    assert "Only if the migration is tested." in prompt and "<@U3>" in prompt
    replies = bot.slack.calls_to("conversations.replies")
    assert [c.args["ts"] for c in replies] == [message["thread_ts"]]
    assert all(m["channel"] != "C1" for m in bot.slack.bot_messages()), "nothing public yet"

    await bot.slack.wait_for(
        lambda: any(element(m, POST_ACTION) for m in answer + bot.slack.replies(dm, header["ts"]))
    )
    offer = next(m for m in bot.slack.replies(dm, header["ts"]) if element(m, POST_ACTION))
    assert (await bot.interact(click(offer, POST_ACTION)))[0] == 200
    await bot.slack.wait_for(lambda: bot.slack.bot_messages("C1"))
    posted = bot.slack.bot_messages("C1")[0]
    assert posted["thread_ts"] == message["thread_ts"]
    assert text_of(posted) == texts.shared_summary(
        "U1", "- Ship Friday: migration tested on staging."
    )
    await bot.slack.wait_for(
        lambda: bot.slack.message(dm, offer["ts"])["text"] == texts.POST_SUMMARY_DONE
    )


async def test_summarize_a_thread_the_bot_has_reads_the_store(bot: Harness) -> None:
    bot.llm.script(text_reply("Friday works if QA signs off."), text_reply("- Friday, after QA."))
    event = await bot.mention("Can we ship on Friday?")
    await bot.wait_reply_done("C1", event["ts"])
    message = {"channel": "C1", "ts": event["ts"], "user": "U1", "text": event["text"]}
    await bot.interact(message_shortcut(shortcuts.SUMMARIZE, message))
    _, _, answer = await private_answer(bot)
    assert text_of(answer[0]) == "- Friday, after QA."
    prompt = last_prompt(bot)
    assert "<@U1>: Can we ship on Friday?" in prompt
    assert "the assistant: Friday works if QA signs off." in prompt
    assert bot.slack.calls_to("conversations.replies") == [], "the store had the thread"


async def test_private_channel_the_asker_is_not_in_is_refused(bot: Harness) -> None:
    bot.slack.add_channel("G9", "secret", is_private=True, members=["UBOT", "U2"])
    message = seed_thread(bot, channel="G9")
    await bot.interact(message_shortcut(shortcuts.SUMMARIZE, message, user="U5", channel="G9"))
    await bot.slack.wait_for(lambda: bot.slack.bot_messages("DU5"))
    assert text_of(bot.slack.bot_messages("DU5")[0]) == texts.SOURCE_NOT_ALLOWED
    assert bot.llm.requests == [] and bot.slack.calls_to("conversations.replies") == []


async def test_channel_the_bot_is_not_in_asks_for_an_invite(bot: Harness) -> None:
    bot.slack.add_channel("C5", "elsewhere", is_member=False)
    message = seed_thread(bot, channel="C5")
    await bot.interact(message_shortcut(shortcuts.SUMMARIZE, message, channel="C5"))
    await bot.slack.wait_for(lambda: bot.slack.bot_messages("DU1"))
    assert text_of(bot.slack.bot_messages("DU1")[0]) == texts.SOURCE_NOT_VISIBLE
    assert bot.llm.requests == []


async def test_conversations_replies_rate_limited_says_try_again_in_a_minute(bot: Harness) -> None:
    message = seed_thread(bot)
    bot.slack.fail_next("conversations.replies", status=429, retry_after=60)
    await bot.interact(message_shortcut(shortcuts.SUMMARIZE, message))
    await bot.slack.wait_for(lambda: bot.slack.bot_messages("DU1"))
    assert text_of(bot.slack.bot_messages("DU1")[0]) == texts.SOURCE_RATE_LIMITED
    assert bot.llm.requests == []


async def test_translate_answers_in_the_askers_locale_as_a_native_stream(harness: Harness) -> None:
    bot = await harness.start(stream_mode="auto")
    bot.slack.add_user("U1", locale="fr-FR")
    message = {
        "channel": "C1",
        "ts": bot.slack.add_message("C1", "Ship it on *Friday*", "U2"),
        "user": "U2",
        "text": "Ship it on *Friday*",
    }
    bot.llm.script(text_reply("Livrez-le *vendredi*"))
    await bot.interact(message_shortcut(shortcuts.TRANSLATE, message))
    dm, header, answer = await private_answer(bot)
    assert text_of(header).startswith(":globe_with_meridians: Translation of")
    assert text_of(answer[0]) == "Livrez-le *vendredi*"
    assert "`fr-FR`" in last_prompt(bot) and "Ship it on *Friday*" in last_prompt(bot)
    started = bot.slack.calls_to("chat.startStream")
    assert [(c.args["channel"], c.args["thread_ts"]) for c in started] == [(dm, header["ts"])]
    locale_asks = [c for c in bot.slack.calls_to("users.info") if c.args.get("include_locale")]
    assert locale_asks, "the locale is only returned when asked for"
    assert bot.slack.calls_to("conversations.replies") == []


async def test_ask_about_a_message_opens_a_modal_and_answers_privately(bot: Harness) -> None:
    message = seed_thread(bot)
    await bot.interact(message_shortcut(shortcuts.ASK, message))
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.open"))
    view = bot.slack.calls_to("views.open")[0].args["view"]
    assert view["callback_id"] == shortcuts.ASK_MODAL
    assert json.loads(view["private_metadata"])["ts"] == message["ts"]

    status, body = await bot.interact(submit(view, question_values("")))
    assert status == 200 and "errors" in body and "question" in body

    bot.llm.script(text_reply("Staging means the test environment."))
    status, body = await bot.interact(submit(view, question_values("What is <staging>?")))
    assert status == 200 and not body, body
    _, header, answer = await private_answer(bot)
    assert text_of(answer[0]) == "Staging means the test environment."
    assert "> What is &lt;staging&gt;?" in text_of(header)
    prompt = last_prompt(bot)
    assert prompt.startswith("What is <staging>?")
    assert "<@U2> [the message asked about]: It is, on staging." in prompt
    assert "Should we ship on Friday?" in prompt, "the thread comes along"


async def test_a_follow_up_in_the_private_thread_keeps_the_context(bot: Harness) -> None:
    from bot.testing.harness import dm

    message = seed_thread(bot)
    bot.llm.script(text_reply("- Friday."), text_reply("Because staging passed."))
    await bot.interact(message_shortcut(shortcuts.SUMMARIZE, message))
    dm_id, header, _ = await private_answer(bot)
    await bot.send(dm("why?", channel=dm_id, thread_ts=header["ts"]))
    await bot.slack.wait_for(lambda: len(bot.llm.requests) == 2)
    messages = bot.llm.requests[1]["messages"]
    assert "It is, on staging." in messages[1]["content"] and messages[-1]["content"] == "why?"


async def test_access_lists_apply_to_the_channel_a_shortcut_was_used_in(harness: Harness) -> None:
    bot = await harness.start(deny_channels="C1")
    message = seed_thread(bot)
    await bot.interact(message_shortcut(shortcuts.TRANSLATE, message))
    await bot.slack.wait_for(lambda: bot.slack.bot_messages("DU1"))
    assert text_of(bot.slack.bot_messages("DU1")[0]) == texts.ACCESS_DENIED
    assert bot.llm.requests == [] and bot.slack.calls_to("conversations.info") == []


async def test_a_question_about_a_message_in_a_refused_channel_is_refused_on_submission(
    harness: Harness,
) -> None:
    bot = await harness.start(deny_channels="C1")
    message = seed_thread(bot)
    await bot.interact(message_shortcut(shortcuts.ASK, message))
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.open"))
    view = bot.slack.calls_to("views.open")[0].args["view"]
    status, body = await bot.interact(submit(view, question_values("What is staging?")))
    assert status == 200 and not body, body
    await bot.slack.wait_for(lambda: bot.slack.bot_messages("DU1"))
    assert text_of(bot.slack.bot_messages("DU1")[0]) == texts.ACCESS_DENIED
    assert bot.llm.requests == [] and bot.slack.calls_to("conversations.replies") == []


async def test_a_shortcut_in_an_allowed_channel_is_answered_in_the_dm(harness: Harness) -> None:
    bot = await harness.start(allow_channels="C1")  # the DM is not listed: the source counts
    message = seed_thread(bot)
    bot.llm.script(text_reply("- Friday."))
    await bot.interact(message_shortcut(shortcuts.SUMMARIZE, message))
    _, _, answer = await private_answer(bot)
    assert text_of(answer[0]) == "- Friday."
    assert bot.slack.calls_to("chat.postEphemeral") == []


async def test_private_metadata_of_a_long_message_stays_within_3000_characters(
    bot: Harness,
) -> None:
    text = 'Il a dit "ça marche" 🎉\n' * 400  # quotes and newlines double in JSON
    message = {"channel": "C1", "ts": bot.slack.add_message("C1", text, "U2"), "user": "U2"}
    await bot.interact(message_shortcut(shortcuts.ASK, {**message, "text": text}))
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.open"))
    call = bot.slack.calls_to("views.open")[0]
    assert call.response["ok"], call.response
    packed = json.loads(call.args["view"]["private_metadata"])
    assert len(call.args["view"]["private_metadata"]) <= 3000
    assert packed["text"].endswith("…") and text.startswith(packed["text"][:-1])


async def test_a_double_click_on_post_in_the_thread_posts_once(bot: Harness) -> None:
    message = seed_thread(bot)
    bot.llm.script(text_reply("- Friday."))
    await bot.interact(message_shortcut(shortcuts.SUMMARIZE, message))
    dm, header, _ = await private_answer(bot)
    await bot.slack.wait_for(
        lambda: any(element(m, POST_ACTION) for m in bot.slack.replies(dm, header["ts"]))
    )
    offer = next(m for m in bot.slack.replies(dm, header["ts"]) if element(m, POST_ACTION))
    clicks = [click(offer, POST_ACTION), click(offer, POST_ACTION)]  # both on the same button
    for payload in clicks:
        await bot.interact(payload)
    await bot.slack.wait_for(
        lambda: bot.slack.message(dm, offer["ts"])["text"] == texts.POST_SUMMARY_DONE
    )
    assert len(bot.slack.bot_messages("C1")) == 1


async def test_a_message_missing_from_the_stores_copy_reads_the_thread_from_slack(
    bot: Harness,
) -> None:
    bot.llm.script(text_reply("Friday works."), text_reply("- Friday, Ann disagrees."))
    event = await bot.mention("Can we ship on Friday?")
    await bot.wait_reply_done("C1", event["ts"])
    aside = bot.slack.add_message("C1", "<@U4> I disagree", "U3", thread_ts=event["ts"])
    message = {"channel": "C1", "ts": aside, "thread_ts": event["ts"], "user": "U3"}
    await bot.interact(message_shortcut(shortcuts.SUMMARIZE, message))
    await private_answer(bot)
    assert [c.args["ts"] for c in bot.slack.calls_to("conversations.replies")] == [event["ts"]]
    assert "<@U3>: <@U4> I disagree" in last_prompt(bot)


async def test_a_shortcut_in_a_second_workspace_answers_with_that_workspaces_token(
    harness: Harness,
) -> None:
    from bot.testing.workspaces import OAUTH, TOKENS, install

    bot = await harness.start(**OAUTH)
    await install(bot, "T1")
    await install(bot, "T2")
    message = seed_thread(bot)
    bot.slack.add_user("U1", team_id="T2")  # a full member of the second workspace
    payload = message_shortcut(shortcuts.TRANSLATE, {**message, "text": "Hallo"})
    payload["team"] = {"id": "T2", "domain": "two"}
    payload["user"]["team_id"] = "T2"
    bot.llm.script(text_reply("Hello"))
    await bot.interact(payload)
    _, header, answer = await private_answer(bot)
    assert text_of(answer[0]) == "Hello" and "https://two.slack.com/" in text_of(header)
    for method in ("conversations.info", "conversations.open", "chat.postMessage"):
        assert {c.token for c in bot.slack.calls_to(method)} == {TOKENS["T2"]}, method
