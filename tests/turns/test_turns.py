"""End to end: signed events in, the real app, fake Slack and model servers, outcomes checked."""

from __future__ import annotations

from bot.testing.harness import Harness, channel_message, dm, next_ts, text_of
from bot.testing.openai import error_reply, text_reply

ANSWER = "The quick brown fox jumps over the lazy dog. " * 6


async def test_mention_streams_one_edited_message_with_the_whole_answer(bot: Harness) -> None:
    bot.llm.script(text_reply(ANSWER, pieces=4, delay=0.01))  # ~0.7 s of streaming
    event = await bot.mention("tell me about foxes")
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert len(replies) == 1, "one message, not a trail"
    assert text_of(replies[0]) == ANSWER
    posts = bot.slack.calls_to("chat.postMessage")
    assert len(posts) == 1 and posts[0].args["thread_ts"] == event["ts"]
    updates = bot.slack.calls_to("chat.update")
    assert len(updates) >= 2, "the answer grows in place while the model streams"
    gaps = [b.at - a.at for a, b in zip(updates, updates[1:], strict=False)]
    # SLACK_UPDATE_INTERVAL=0.2 in tests; edits leave the bot >= 0.2 s apart, arrival jitter aside.
    assert all(gap >= 0.2 * 0.5 for gap in gaps), gaps
    shown = [text_of(c.args) for c in updates]
    assert all(len(b) >= len(a) for a, b in zip(shown, shown[1:], strict=False)), "never older"
    request = bot.llm.requests[-1]
    assert request["stream"] is True
    assert request["messages"][0]["role"] == "system"
    assert request["messages"][-1] == {"role": "user", "content": "tell me about foxes"}


async def test_dm_is_answered_in_the_dm(bot: Harness) -> None:
    bot.llm.script(text_reply("Hi from the DM."))
    event = dm("hello bot")
    assert await bot.send(event) == 200
    await bot.slack.wait_for(
        lambda: any(text_of(m) == "Hi from the DM." for m in bot.slack.bot_messages("D1"))
    )
    posts = bot.slack.calls_to("chat.postMessage")
    assert len(posts) == 1 and posts[0].args["channel"] == "D1"


async def test_dm_conversation_keeps_context_between_messages(bot: Harness) -> None:
    bot.llm.script(text_reply("Nice to meet you, Ada."), text_reply("Your name is Ada."))
    await bot.send(dm("my name is Ada"))
    await bot.slack.wait_for(lambda: len(bot.llm.requests) == 1 and not bot.runtime.bot.tasks)
    await bot.send(dm("what is my name?"))
    await bot.slack.wait_for(
        lambda: any(text_of(m) == "Your name is Ada." for m in bot.slack.bot_messages("D1"))
    )
    roles = [(m["role"], m["content"]) for m in bot.llm.requests[-1]["messages"][1:]]
    assert roles == [
        ("user", "my name is Ada"),
        ("assistant", "Nice to meet you, Ada."),
        ("user", "what is my name?"),
    ]


async def test_thread_follow_up_without_mention_gets_the_thread_as_context(bot: Harness) -> None:
    bot.llm.script(text_reply("Paris."), text_reply("About 2.1 million."))
    first = await bot.mention("capital of France?")
    await bot.wait_reply_done("C1", first["ts"])
    follow = channel_message("and its population?", thread_ts=first["ts"])
    await bot.send(follow)
    replies = await bot.wait_reply_done("C1", first["ts"], count=2)
    assert [text_of(r) for r in replies] == ["Paris.", "About 2.1 million."]
    sent = [(m["role"], m["content"]) for m in bot.llm.requests[-1]["messages"][1:]]
    assert sent == [
        ("user", "capital of France?"),
        ("assistant", "Paris."),
        ("user", "and its population?"),
    ]


async def test_follow_up_addressed_to_someone_else_is_not_answered(bot: Harness) -> None:
    bot.llm.script(text_reply("Sure."))
    first = await bot.mention("help")
    await bot.wait_reply_done("C1", first["ts"])
    await bot.send(channel_message("<@U2> can you look at this?", thread_ts=first["ts"]))
    await bot.settle()
    assert len(bot.llm.requests) == 1
    assert len(bot.slack.calls_to("chat.postMessage")) == 1


async def test_messages_not_for_the_bot_never_start_a_turn(bot: Harness) -> None:
    ts = next_ts()
    ignored = [
        channel_message("just chatting in a channel"),
        channel_message("reply in a thread the bot is not in", thread_ts=ts),
        {**channel_message("<@UBOT> edited"), "subtype": "message_changed"},
        {**channel_message("<@UBOT> deleted"), "subtype": "message_deleted"},
        {**channel_message("<@UBOT> joined"), "subtype": "channel_join"},
        {**channel_message("<@UBOT> from another bot"), "subtype": "bot_message", "bot_id": "B2"},
        {**dm("from an app in a DM"), "bot_id": "B3"},
        {**channel_message("<@UBOT> my own message"), "user": "UBOT", "bot_id": "BBOT"},
        {**dm("my own DM"), "user": "UBOT"},
    ]
    for event in ignored:
        assert await bot.send(event) == 200
    await bot.settle()
    assert bot.llm.requests == []
    assert bot.slack.calls_to("chat.postMessage") == []


async def test_redelivered_and_paired_events_are_answered_once(bot: Harness) -> None:
    bot.llm.script(text_reply("Only once."))
    event = channel_message("<@UBOT> answer me once")
    mention = {**event, "type": "app_mention"}
    await bot.send(mention, event_id="EvA")
    await bot.send(event, event_id="EvB")  # the message.channels twin
    for retry in (1, 2, 3):
        await bot.send(mention, event_id="EvA", retry_num=retry)
    await bot.wait_reply_done("C1", event["ts"])
    await bot.settle()
    assert len(bot.slack.calls_to("chat.postMessage")) == 1
    assert len(bot.llm.requests) == 1


async def test_redelivery_after_restart_is_not_answered_again(bot: Harness) -> None:
    bot.llm.script(text_reply("First and only."))
    event = channel_message("<@UBOT> hello")
    await bot.send({**event, "type": "app_mention"}, event_id="EvR")
    await bot.wait_reply_done("C1", event["ts"])
    await bot.restart()
    await bot.send({**event, "type": "app_mention"}, event_id="EvR", retry_num=1)
    await bot.settle()
    assert len(bot.slack.calls_to("chat.postMessage")) == 1


async def test_history_survives_a_restart(bot: Harness) -> None:
    bot.llm.script(text_reply("Noted: blue."), text_reply("Blue."))
    first = await bot.mention("remember my colour is blue")
    await bot.wait_reply_done("C1", first["ts"])
    await bot.restart()
    await bot.send(channel_message("what colour?", thread_ts=first["ts"]))
    replies = await bot.wait_reply_done("C1", first["ts"], count=2)
    assert text_of(replies[-1]) == "Blue."
    contents = [m["content"] for m in bot.llm.requests[-1]["messages"]]
    assert "remember my colour is blue" in contents and "Noted: blue." in contents


async def test_first_mention_in_an_existing_thread_reads_it_once(bot: Harness) -> None:
    bot.slack.add_user("U7", name="ana", profile={"display_name": "Ana"})
    bot.slack.add_user("U8", name="ben", profile={"display_name": "Ben"})
    bot.slack.add_user("U1", name="cy", profile={"display_name": "Cy"})
    root = bot.slack.add_message("C1", "We deploy on Fridays.", "U7")
    bot.slack.add_message("C1", "Only after 3 pm.", "U8", thread_ts=root)
    bot.llm.script(text_reply("After 3 pm on Fridays."), text_reply("Yes."))
    mention = channel_message("<@UBOT> when do we deploy?", thread_ts=root)
    await bot.send({**mention, "type": "app_mention"})
    await bot.wait_reply_done("C1", root)
    # One user turn (strict templates refuse two in a row), each part labelled by author.
    contents = [m["content"] for m in bot.llm.requests[0]["messages"][1:]]
    assert contents == [
        "Ana: We deploy on Fridays.\n\nBen: Only after 3 pm.\n\nCy: when do we deploy?"
    ]
    await bot.send(channel_message("sure?", thread_ts=root))
    await bot.wait_reply_done("C1", root, count=2)
    assert len(bot.slack.calls_to("conversations.replies")) == 1


async def test_thread_history_rate_limit_does_not_stop_the_reply(bot: Harness) -> None:
    root = bot.slack.add_message("C1", "Some earlier talk.", "U7")
    bot.slack.fail_next("conversations.replies", status=429, retry_after=60, times=5)
    bot.llm.script(text_reply("Answered anyway."))
    await bot.send({**channel_message("<@UBOT> hi", thread_ts=root), "type": "app_mention"})
    replies = await bot.wait_reply_done("C1", root)
    assert text_of(replies[0]) == "Answered anyway."


async def test_history_sent_to_the_model_is_bounded(harness: Harness) -> None:
    bot = await harness.start(history_token_budget=600)
    for i in range(12):
        bot.llm.script(text_reply(f"answer {i} " + "x" * 200))
    first = await bot.mention("question 0 " + "q" * 200)
    await bot.wait_reply_done("C1", first["ts"])
    for i in range(1, 12):
        await bot.send(channel_message(f"question {i} " + "q" * 200, thread_ts=first["ts"]))
        await bot.wait_reply_done("C1", first["ts"], count=i + 1)
    messages = bot.llm.requests[-1]["messages"]
    assert messages[0]["role"] == "system"
    assert messages[-1]["content"].startswith("question 11")
    assert 2 < len(messages) < 12, len(messages)  # newest turns kept, oldest dropped
    assert sum(len(m["content"]) for m in messages) < 600 * 3


async def test_forged_or_stale_requests_get_401_and_are_ignored(bot: Harness) -> None:
    from bot.testing.signing import event_body, signed_headers

    body = event_body(channel_message("<@UBOT> forged"))
    forged = signed_headers("wrong-secret", body)
    assert (await bot.post_raw(body, forged))[0] == 401
    stale = signed_headers("test-signing-secret", body, timestamp=1_600_000_000)
    assert (await bot.post_raw(body, stale))[0] == 401
    assert (await bot.post_raw(body, {"Content-Type": "application/json"}))[0] == 401
    await bot.settle()
    assert bot.llm.requests == [] and bot.slack.calls_to("chat.postMessage") == []


async def test_healthz_is_ok_once_ready(bot: Harness) -> None:
    assert bot.http is not None
    async with bot.http.get(f"{bot.url}/healthz") as response:
        assert response.status == 200


async def test_empty_mention_gets_a_short_hint(bot: Harness) -> None:
    event = await bot.mention("")
    await bot.slack.wait_for(lambda: len(bot.slack.bot_messages("C1")) == 1)
    await bot.settle()
    assert "Ask me anything" in text_of(bot.slack.bot_messages("C1")[0])
    assert bot.llm.requests == []
    assert bot.slack.bot_messages("C1")[0]["thread_ts"] == event["ts"]


async def test_odd_input_is_answered(bot: Harness) -> None:
    bot.llm.script(text_reply("ok 1"), text_reply("ok 2"), text_reply("مرحبا 👋 ok 3"))
    huge = "long " * 8000  # 40,000 characters
    events = [
        channel_message("<@UBOT> " + huge),
        channel_message("<@UBOT> 🎉🔥 emoji only 👩‍👩‍👧"),
        channel_message("<@UBOT> مرحبا، كيف حالك؟ שלום"),
    ]
    for event in events:
        await bot.send({**event, "type": "app_mention"})
    for event in events:
        await bot.wait_reply_done("C1", event["ts"])
    finals = sorted(text_of(m) for m in bot.slack.bot_messages("C1"))
    assert finals == sorted(["ok 1", "ok 2", "مرحبا 👋 ok 3"])
    big_request = max(bot.llm.requests, key=lambda r: len(r["messages"][-1]["content"]))
    assert len(big_request["messages"][-1]["content"]) < 40_000  # trimmed to the budget


async def test_unknown_events_and_malformed_payloads_do_not_break_serving(bot: Harness) -> None:
    from bot.testing.signing import signed_headers

    assert await bot.send({"type": "reaction_added", "user": "U1", "reaction": "x"}) == 200
    assert await bot.send({"type": "something_new_2027", "foo": [1, 2]}) == 200
    for body in ["not json at all", '{"type": "event_callback"}', '{"event": 5}', ""]:
        status, _ = await bot.post_raw(body, signed_headers("test-signing-secret", body))
        assert status < 500, (body, status)
    bot.llm.script(text_reply("still here"))
    event = await bot.mention("are you alive?")
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert text_of(replies[0]) == "still here"


async def test_model_error_gives_a_short_message(bot: Harness) -> None:
    bot.llm.script(error_reply(401, "Incorrect API key provided", code="invalid_api_key"))
    event = await bot.mention("hello")
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert "OPENAI_API_KEY" in text_of(replies[0])
    assert "Traceback" not in text_of(replies[0])


async def test_secrets_never_reach_the_log(bot: Harness, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    bot.llm.script(error_reply(500, "boom"), error_reply(500, "boom"), error_reply(500, "boom"))
    event = await bot.mention("hello")
    await bot.wait_reply_done("C1", event["ts"])
    assert "xoxb-test-token" not in caplog.text
    assert "sk-test" not in caplog.text
    assert "test-signing-secret" not in caplog.text
