"""Access lists through the real app, and the helper tools use to respect what askers can see."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_app.access import AccessLists
from bot.testing.harness import SECRET, Harness, channel_message, dm
from bot.testing.openai import text_reply
from bot.testing.signing import event_body, signed_headers
from bot.testing.slack import FakeSlack
from bot.tools.visibility import asker_can_read


async def test_denied_user_never_starts_a_turn_and_is_told_once(harness: Harness) -> None:
    bot = await harness.start(deny_users="U666")
    bot.llm.script(text_reply("Hello, allowed person."))
    refused = dm("let me in", user="U666")
    for retry in (None, 1, 2):
        assert await bot.send(refused, event_id="EvDenied", retry_num=retry) == 200
    allowed = dm("hi", user="U1")
    await bot.send(allowed)
    await bot.slack.wait_for(lambda: len(bot.slack.bot_messages("D1")) == 1)
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("chat.postEphemeral")) == 1)
    await bot.settle()
    notes = bot.slack.calls_to("chat.postEphemeral")
    assert len(notes) == 1 and notes[0].args["user"] == "U666"
    assert "not enabled for you" in notes[0].args["text"]
    assert len(bot.llm.requests) == 1
    assert bot.llm.requests[0]["messages"][-1]["content"] == "hi"


async def test_channel_allow_list_limits_channels_and_dms(harness: Harness) -> None:
    bot = await harness.start(allow_channels="C1")
    bot.llm.script(text_reply("In C1."))
    outside = channel_message("<@UBOT> hello from C2", channel="C2")
    await bot.send({**outside, "type": "app_mention"})
    await bot.send(dm("and a DM"))
    inside = await bot.mention("hello from C1")
    await bot.wait_reply_done("C1", inside["ts"])
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("chat.postEphemeral")) == 2)
    assert {c.args["channel"] for c in bot.slack.calls_to("chat.postEphemeral")} == {"C2", "D1"}
    assert len(bot.llm.requests) == 1 and bot.slack.bot_messages("C2") == []


async def test_refused_chatter_not_for_the_bot_gets_no_note(harness: Harness) -> None:
    bot = await harness.start(deny_channels="C2")
    await bot.send(channel_message("just talking among ourselves", channel="C2"))
    await bot.send(channel_message("<@UBOT> and now to you", channel="C2"))
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("chat.postEphemeral")) == 1)
    await bot.settle()
    assert len(bot.slack.calls_to("chat.postEphemeral")) == 1
    assert 'slackbot_access_denied_total{scope="channel"} 1.0' in await bot.scrape()


async def test_im_keyword_allows_every_dm(harness: Harness) -> None:
    bot = await harness.start(allow_channels="C1,im")
    bot.llm.script(text_reply("DMs are fine."))
    await bot.send(dm("hello"))
    await bot.slack.wait_for(lambda: len(bot.slack.bot_messages("D1")) == 1)
    assert bot.slack.calls_to("chat.postEphemeral") == []


async def test_denied_workspace_gets_silence_and_is_counted(harness: Harness) -> None:
    bot = await harness.start(allow_teams="T1")
    body = event_body({**channel_message("<@UBOT> hi"), "team": "T9"}, team_id="T9")
    assert (await bot.post_raw(body, signed_headers(SECRET, body)))[0] == 200
    await bot.settle()
    assert bot.llm.requests == []
    assert [c.method for c in bot.slack.calls if not c.method.startswith("auth.")] == []
    assert 'slackbot_access_denied_total{scope="team"} 1.0' in await bot.scrape()


def test_deny_wins_over_allow() -> None:
    lists = AccessLists(allow_users=frozenset({"U1"}), deny_users=frozenset({"U1"}))
    assert lists.refuses("T1", "C1", "U1") == "user"
    assert AccessLists().refuses("T1", "C1", "U1") is None


async def test_asker_can_read_only_what_they_could_see(slack: FakeSlack) -> None:
    slack.add_channel("CPRIV", "secret-project", is_private=True, members=["UBOT", "U1"])
    slack.add_channel("CPUB", "general", members=["UBOT"])
    slack.add_channel("DU1", "dm", is_im=True, user="U1")
    slack.add_user("UGUEST", is_restricted=True)
    slack.add_user("UEXT", is_stranger=True)
    client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)

    async def call(method: str, **params: Any) -> dict[str, Any]:
        return dict((await client.api_call(method, http_verb="GET", params=params)).data)

    async def can(channel: str, user: str) -> bool:
        info = (await call("conversations.info", channel=channel))["channel"]
        return await asker_can_read(call, info, user, team_id="T1")

    assert await can("CPRIV", "U1") and not await can("CPRIV", "U2")
    assert await can("CPUB", "U2"), "a full member can read any public channel"
    assert not await can("CPUB", "UGUEST") and not await can("CPUB", "UEXT")
    assert await can("DU1", "U1") and not await can("DU1", "U2")


async def test_permalink_reader_returns_only_what_a_guest_could_see(bot: Harness) -> None:
    from bot.testing.toolchecks import link, results

    bot.slack.add_user("UGUEST", is_restricted=True)
    bot.slack.add_channel("C7", "all-hands", members=["UBOT", "U1"])
    words = bot.slack.add_message("C7", "quarterly numbers", "U1")
    calls = [("call_1", "read_slack_message", json.dumps({"permalink": link("C7", words)}))]
    guest_dm = dm("what does this say?", user="UGUEST", channel="D9")
    refused = (await results(bot, calls, event=guest_dm))["read_slack_message"][0]
    assert "cannot see that conversation" in refused and "quarterly" not in refused
    member = (await results(bot, calls))["read_slack_message"][0]
    assert "quarterly numbers" in member
    read_from = [c.args["channel"] for c in bot.slack.calls_to("conversations.replies")]
    assert read_from.count("C7") == 1, "read once: for the member, never for the guest"
