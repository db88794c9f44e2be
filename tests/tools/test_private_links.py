"""Attack tests: `read_slack_message` never repeats a conversation to people outside it."""

from __future__ import annotations

import json

from bot.testing.harness import Harness, channel_message, dm, text_of
from bot.testing.openai import text_reply, tool_call_reply
from bot.testing.toolchecks import link, results, results_by_name
from bot.tools import sharing


def _read(url: str, call_id: str = "c1") -> tuple[str, str, str]:
    return (call_id, "read_slack_message", json.dumps({"permalink": url}))


def _replies_read(bot: Harness) -> set[str]:
    return {call.args["channel"] for call in bot.slack.calls_to("conversations.replies")}


async def test_private_channel_link_pasted_in_public_channel_is_not_summarised(
    bot: Harness,
) -> None:
    bot.slack.add_channel("G5", "secret-plans", is_private=True, members=["UBOT", "U1"])
    secret = bot.slack.add_message("G5", "the merger closes Friday", "U9")
    found = await results(bot, [_read(link("G5", secret))])  # asked in public C1 by member U1
    (result,) = found["read_slack_message"]
    assert result == f"Error: {sharing.PRIVATE_ELSEWHERE}"
    assert "G5" not in _replies_read(bot)
    assert "merger" not in json.dumps(bot.llm.requests[-1])


async def test_dm_and_group_dm_links_stay_in_their_conversation(bot: Harness) -> None:
    bot.slack.add_channel("D7", "dm", is_im=True, user="U1")
    in_dm = bot.slack.add_message("D7", "my salary is 1", "U1")
    bot.slack.add_channel("G8", "mpdm", is_mpim=True, members=["UBOT", "U1", "U2"])
    in_group = bot.slack.add_message("G8", "group gossip", "U2")
    found = await results(bot, [_read(link("D7", in_dm)), _read(link("G8", in_group), "c2")])
    assert found["read_slack_message"] == [f"Error: {sharing.PRIVATE_ELSEWHERE}"] * 2
    assert not _replies_read(bot) & {"D7", "G8"}


async def test_private_link_is_read_in_the_askers_own_dm_with_the_bot(bot: Harness) -> None:
    bot.slack.add_channel("D1", "dm", is_im=True, user="U1")
    bot.slack.add_channel("G5", "secret-plans", is_private=True, members=["UBOT", "U1"])
    secret = bot.slack.add_message("G5", "the merger closes Friday", "U9")
    found = await results(bot, [_read(link("G5", secret))], event=dm("what does this say?"))
    read = json.loads(found["read_slack_message"][0])
    assert read["messages"][0]["text"] == "the merger closes Friday"


async def test_private_link_is_not_read_in_someone_elses_dm_view(bot: Harness) -> None:
    # A DM whose other member is not the asker (conversations.info `user`) is not "their own".
    bot.slack.add_channel("D1", "dm", is_im=True, user="U2")
    bot.slack.add_channel("G5", "secret-plans", is_private=True, members=["UBOT", "U1"])
    secret = bot.slack.add_message("G5", "the merger closes Friday", "U9")
    found = await results(bot, [_read(link("G5", secret))], event=dm("what does this say?"))
    assert found["read_slack_message"] == [f"Error: {sharing.PRIVATE_ELSEWHERE}"]


async def test_private_link_is_read_inside_the_same_private_channel(bot: Harness) -> None:
    bot.slack.add_channel("G5", "secret-plans", is_private=True, members=["UBOT", "U1"])
    secret = bot.slack.add_message("G5", "the merger closes Friday", "U9")
    bot.llm.script(tool_call_reply([_read(link("G5", secret))]), text_reply("Answered."))
    await bot.mention("summarise this", channel="G5")
    await bot.slack.wait_for(
        lambda: any(text_of(m) == "Answered." for m in bot.slack.bot_messages("G5"))
    )
    read = json.loads(results_by_name(bot.llm.requests[-1])["read_slack_message"][0])
    assert read["messages"][0]["text"] == "the merger closes Friday"


async def test_public_link_not_returned_into_a_slack_connect_channel(bot: Harness) -> None:
    bot.slack.add_channel("C1", "with-partner", is_shared=True, is_ext_shared=True)
    bot.slack.add_channel("C2", "internal", members=["UBOT", "U1"])
    words = bot.slack.add_message("C2", "internal roadmap", "U7")
    found = await results(bot, [_read(link("C2", words))])
    assert found["read_slack_message"] == [f"Error: {sharing.SHARED_DESTINATION}"]
    assert "C2" not in _replies_read(bot)


async def test_public_link_not_returned_to_a_guest(bot: Harness) -> None:
    bot.slack.add_user("U1", is_restricted=True)
    words = bot.slack.add_message("C2", "internal roadmap", "U7")  # U1 is not a member of C2
    found = await results(bot, [_read(link("C2", words))])
    assert found["read_slack_message"] == [f"Error: {sharing.ASKER_CANNOT_SEE}"]
    assert "C2" not in _replies_read(bot)


async def test_harmless_follow_up_does_not_unlock_anothers_request(bot: Harness) -> None:
    """A guest asks for a public link; a full member's "thanks" must not make the read succeed."""
    bot.slack.add_user("UG", is_ultra_restricted=True)
    words = bot.slack.add_message("C2", "internal roadmap", "U7")
    url = link("C2", words)
    bot.llm.script(tool_call_reply([_read(url)]), text_reply("I cannot."))
    asked = await bot.mention(f"what does {url} say?", user="UG")
    await bot.slack.wait_for(
        lambda: any(text_of(m) == "I cannot." for m in bot.slack.bot_messages("C1"))
    )
    assert results_by_name(bot.llm.requests[-1])["read_slack_message"] == [
        f"Error: {sharing.ASKER_CANNOT_SEE}"
    ]
    bot.llm.script(tool_call_reply([_read(url, "c2")]), text_reply("Second try."))
    await bot.send(channel_message("thanks", user="U1", thread_ts=asked["ts"]))
    await bot.slack.wait_for(
        lambda: any(text_of(m) == "Second try." for m in bot.slack.bot_messages("C1"))
    )
    assert results_by_name(bot.llm.requests[-1])["read_slack_message"][-1] == (
        f"Error: {sharing.PARTICIPANT_CANNOT_SEE}"
    )
    assert "C2" not in _replies_read(bot)
    assert "roadmap" not in json.dumps(bot.llm.requests[-1])


async def test_public_link_is_read_for_full_members_in_an_internal_channel(bot: Harness) -> None:
    words = bot.slack.add_message("C2", "internal roadmap", "U7")
    found = await results(bot, [_read(link("C2", words))])
    assert json.loads(found["read_slack_message"][0])["messages"][0]["text"] == "internal roadmap"


async def test_every_writer_in_the_thread_is_checked_with_one_member_listing(
    bot: Harness,
) -> None:
    bot.slack.add_channel("C2", "internal", members=["UBOT", "U1", "U2", "U3"])
    words = bot.slack.add_message("C2", "internal roadmap", "U7")
    bot.llm.script(text_reply("First."))
    asked = await bot.mention("hello", user="U2")
    await bot.wait_reply_done("C1", asked["ts"])
    bot.llm.script(text_reply("Second."))
    await bot.send(channel_message("me too", user="U3", thread_ts=asked["ts"]))
    await bot.wait_reply_done("C1", asked["ts"], count=2)
    bot.llm.script(tool_call_reply([_read(link("C2", words))]), text_reply("Third."))
    await bot.send(channel_message("what does it say?", user="U1", thread_ts=asked["ts"]))
    await bot.slack.wait_for(
        lambda: any(text_of(m) == "Third." for m in bot.slack.bot_messages("C1"))
    )
    read = json.loads(results_by_name(bot.llm.requests[-1])["read_slack_message"][0])
    assert read["messages"][0]["text"] == "internal roadmap"
    listings = [c for c in bot.slack.calls_to("conversations.members") if c.args["channel"] == "C2"]
    assert len(listings) == 1, "three writers, one member listing"


async def test_private_channel_is_not_summarised_into_a_public_channel(bot: Harness) -> None:
    bot.slack.add_channel("G5", "secret-plans", is_private=True, members=["UBOT", "U1"])
    bot.slack.add_message("G5", "the merger closes Friday", "U9")
    found = await results(bot, [("c1", "summarize_channel", '{"channel": "<#G5>"}')])
    (result,) = found["summarize_channel"]
    assert result == f"Error: {sharing.PRIVATE_ELSEWHERE}"
    assert not bot.slack.calls_to("conversations.history")
    assert "merger" not in json.dumps(bot.llm.requests[-1])
