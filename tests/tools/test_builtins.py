"""The built-in tools through the real app: Slack's answers in, the model's tool results out."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.testing.harness import Harness, dm
from bot.testing.toolchecks import link, results
from bot.tools.registry import ToolError
from bot.tools.slack_reader import parse_permalink


async def test_current_datetime_in_the_asking_users_time_zone(bot: Harness) -> None:
    bot.slack.add_user("U1", tz="Asia/Kolkata", tz_label="India Standard Time", tz_offset=19800)
    found = await results(
        bot,
        [
            ("c1", "current_datetime", "{}"),
            ("c2", "current_datetime", '{"timezone": "America/New_York"}'),
            ("c3", "current_datetime", '{"timezone": "Mars/Olympus_Mons"}'),
        ],
    )
    mine, asked, unknown = (json.loads(r) for r in found["current_datetime"])
    assert (mine["timezone"], mine["utc_offset"]) == ("Asia/Kolkata", "+05:30")
    assert mine["source"] == "the user's Slack profile"
    now = datetime.now(ZoneInfo("Asia/Kolkata"))
    assert abs(datetime.fromisoformat(mine["datetime"]) - now) < timedelta(minutes=5)
    assert asked["timezone"] == "America/New_York" and asked["source"] == "requested"
    assert "Unknown time zone 'Mars/Olympus_Mons'" in unknown["error"]
    assert bot.slack.calls_to("users.info")[0].args["user"] == "U1"


async def test_current_datetime_falls_back_to_the_profile_offset(bot: Harness) -> None:
    bot.slack.add_user("U1", tz="Atlantis/Capital", tz_label="Atlantis Time", tz_offset=-12600)
    (found,) = (await results(bot, [("c1", "current_datetime", "{}")]))["current_datetime"]
    assert json.loads(found)["utc_offset"] == "-03:30"


async def test_current_user_and_channel(bot: Harness) -> None:
    bot.slack.add_user(
        "U1",
        name="ada",
        real_name="Ada Lovelace",
        profile={"title": "Engineer", "display_name": "ada"},
    )
    bot.slack.add_channel("C1", "engineering", topic={"value": "Ship it"}, num_members=12)
    found = await results(bot, [("c1", "current_user", "{}"), ("c2", "current_channel", "{}")])
    user = json.loads(found["current_user"][0])
    assert user | {"timezone": None} == {
        "user_id": "U1",
        "name": "ada",
        "real_name": "Ada Lovelace",
        "display_name": "ada",
        "title": "Engineer",
        "timezone": None,
        "is_admin": False,
        "is_owner": False,
        "is_bot": False,
    }
    channel = json.loads(found["current_channel"][0])
    assert (channel["name"], channel["kind"], channel["topic"], channel["members"]) == (
        "engineering",
        "public channel",
        "Ship it",
        12,
    )
    assert channel["in_thread"] is True


async def test_current_channel_in_a_dm(bot: Harness) -> None:
    found = await results(bot, [("c1", "current_channel", "{}")], event=dm("where am I?"))
    assert json.loads(found["current_channel"][0])["kind"] == "direct message"


async def test_read_slack_message_reads_a_thread_from_a_permalink(bot: Harness) -> None:
    bot.slack.add_user("U7", real_name="Grace Hopper", profile={"display_name": "grace"})
    root = bot.slack.add_message("C2", "Deploys are frozen this week.", "U7")
    reply = bot.slack.add_message("C2", "Until Friday noon.", "U8", thread_ts=root)
    bot.slack.add_message("C2", "Unrelated chatter.", "U8")
    found = await results(
        bot,
        [("c1", "read_slack_message", json.dumps({"permalink": f"<{link('C2', reply, root)}>"}))],
    )
    read = json.loads(found["read_slack_message"][0])
    assert read["channel_id"] == "C2"
    assert [(m["author"], m["text"], m.get("linked")) for m in read["messages"]] == [
        ("grace (U7)", "Deploys are frozen this week.", None),
        ("u8 (U8)", "Until Friday noon.", True),
    ]
    replies_call = bot.slack.calls_to("conversations.replies")[-1]
    assert (replies_call.args["channel"], replies_call.args["ts"]) == ("C2", root)


async def test_read_slack_message_refuses_what_it_must_not_read(bot: Harness) -> None:
    root = bot.slack.add_message("C2", "public words", "U7")
    bot.slack.add_channel("C3", "outside", is_member=False)
    secret = bot.slack.add_message("C3", "not for the bot", "U7")
    bot.slack.add_channel("G4", "private", is_private=True, members=["UBOT", "U9"])
    hidden = bot.slack.add_message("G4", "private words", "U9")
    bot.slack.add_channel("G5", "ours", is_private=True, members=["UBOT", "U1"])
    shared = bot.slack.add_message("G5", "words the asker may see", "U9")
    links = {
        "other_workspace": link("C2", root, host="https://elsewhere.slack.com"),
        "bot_not_member": link("C3", secret),
        "asker_not_member": link("G4", hidden),
        "asker_member": link("G5", shared),
        "deleted": link("C2", "1700000999.000100"),
        "not_a_link": "https://example.com/archives/C2/p1700000000000100",
    }
    calls = [
        (name, "read_slack_message", json.dumps({"permalink": url})) for name, url in links.items()
    ]
    found = dict(zip(links, (await results(bot, calls))["read_slack_message"], strict=True))
    assert "another Slack workspace (elsewhere.slack.com)" in found["other_workspace"]
    assert "I am not a member of that channel" in found["bot_not_member"]
    assert "That conversation is private" in found["asker_not_member"]
    # Private content is not repeated in a public channel, even for one of its members.
    assert "That conversation is private" in found["asker_member"]
    assert "no message at that link" in found["deleted"]
    assert "is not a Slack message link" in found["not_a_link"]
    read_from = {call.args["channel"] for call in bot.slack.calls_to("conversations.replies")}
    assert "G4" not in read_from, "a private conversation is not read for an outsider"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://acme.slack.com/archives/C0123ABC/p1700000000123456",
            ("acme.slack.com", "C0123ABC", "1700000000.123456", None),
        ),
        (
            "<https://Acme.slack.com/archives/c0123abc/p1700000000123456?thread_ts=1699999999.000100"
            "&cid=C0123ABC|see this>",
            ("acme.slack.com", "C0123ABC", "1700000000.123456", "1699999999.000100"),
        ),
    ],
)
def test_parse_permalink(url: str, expected: tuple) -> None:
    parsed = parse_permalink(url)
    assert (parsed.host, parsed.channel, parsed.ts, parsed.thread_ts) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.slack.com/messages/C0123/p1700000000123456",
        "https://acme.slack.com.evil.example/archives/C0123/p1700000000123456",
        "ftp://acme.slack.com/archives/C0123/p1700000000123456",
        "https://acme.slack.com/archives/C0123/pnotdigits",
    ],
)
def test_parse_permalink_refuses_other_urls(url: str) -> None:
    with pytest.raises(ToolError):
        parse_permalink(url)
