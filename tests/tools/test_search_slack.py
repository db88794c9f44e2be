"""search_slack: answers grounded in the workspace, with the asker's access, never stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.db.records import ThreadKey
from bot.testing.harness import Harness, channel_message, dm, next_ts, text_of
from bot.testing.openai import text_reply, tool_call_reply
from bot.tools.slack_search import REFUSED

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

LAUNCH = "The Gizmo launch is on March 3, owned by Dana."
BUDGET = "Gizmo budget is 2M, keep it quiet."
SEARCH = tool_call_reply([("call_1", "search_slack", '{"query": "Gizmo launch"}')])


def seed(bot: Harness) -> tuple[str, str]:
    """A public #launches message and a private #secret-plans one; U1 is in both."""
    slack = bot.slack
    slack.add_channel("D1", "", is_im=True, user="U1")
    slack.add_channel("C2", "launches", members=["U1", "U2", "UBOT"])
    slack.add_channel("CPRIV", "secret-plans", is_private=True, members=["U1"])
    public = slack.add_message("C2", LAUNCH, user="U7")
    private = slack.add_message("CPRIV", BUDGET, user="U8")
    return public, private


def tools_offered(request: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in request.get("tools") or []]


def tool_messages(request: dict[str, Any]) -> list[str]:
    return [str(m["content"]) for m in request["messages"] if m["role"] == "tool"]


async def stored_tool_rows(bot: Harness, channel: str, thread_ts: str) -> list[str]:
    assert bot.runtime is not None and bot.runtime.bot is not None
    rows = await bot.runtime.bot.store.history(ThreadKey("T1", channel, thread_ts), limit=20)
    return [r.content for r in rows if r.role == "tool"]


async def ask_in_dm(bot: Harness, text: str, *, token: str | None = None) -> str:
    """Ask in a DM thread with an action token; return the thread's ts once answered."""
    thread_ts = next_ts()
    event = dm(text, thread_ts=thread_ts)
    event["action_token"] = token if token is not None else bot.slack.issue_action_token("U1")
    await bot.send(event)
    await bot.wait_reply_done("D1", thread_ts)
    return thread_ts


async def test_grounded_answer_cites_permalinks_and_keeps_no_results(harness: Harness) -> None:
    bot = await harness.start(stream_mode="auto", native_flush_interval=0.05, dm_threads=True)
    public, private = seed(bot)
    link = f"https://fake-workspace.slack.com/archives/C2/p{public.replace('.', '')}"
    bot.llm.script(SEARCH, text_reply(f"It launches on March 3 (<{link}|#launches>)."))
    thread_ts = await ask_in_dm(bot, "When does Gizmo launch?")
    assert "search_slack" in tools_offered(bot.llm.requests[0])
    [search] = bot.slack.calls_to("assistant.search.context")
    assert search.args["action_token"] and search.token == "xoxb-test-token"
    assert search.args["channel_types"] == "public_channel,private_channel,mpim,im"
    [result] = tool_messages(bot.llm.requests[1])
    found = json.loads(result)
    by_link = {r["permalink"]: r for r in found["results"]}
    assert by_link[link]["text"] == LAUNCH and by_link[link]["channel"] == "#launches"
    assert {r["text"] for r in found["results"]} == {LAUNCH, BUDGET}, "the asker's own DM"
    assert by_link[link]["author"].endswith("(U7)") and "<permalink|" in found["note"]
    [kept] = await stored_tool_rows(bot, "D1", thread_ts)
    assert LAUNCH not in kept and BUDGET not in kept, "search results are not stored"
    assert "Gizmo launch" in kept and link in kept
    chunks = [
        chunk
        for c in bot.slack.calls_to("chat.appendStream") + bot.slack.calls_to("chat.stopStream")
        for chunk in c.args.get("chunks") or []
        if chunk.get("type") == "task_update" and chunk.get("status") == "complete"
    ]
    sources = [s for chunk in chunks for s in chunk.get("sources") or []]
    assert {"type": "url", "url": link, "text": "#launches"} in sources
    reply = await bot.wait_reply_done("D1", thread_ts)
    assert link in text_of(reply[-1])


async def test_later_rounds_of_the_turn_still_see_the_results(bot: Harness) -> None:
    seed(bot)
    bot.llm.script(
        SEARCH,
        tool_call_reply([("call_2", "current_datetime", '{"timezone": "UTC"}')]),
        text_reply("March 3, in four weeks."),
    )
    await ask_in_dm(bot, "How long until the Gizmo launch?")
    assert LAUNCH in tool_messages(bot.llm.requests[2])[0], "the whole turn uses the results"


async def test_private_results_stay_out_of_a_public_thread(bot: Harness) -> None:
    seed(bot)
    bot.slack.add_channel("C1", "general", members=["U1", "U2", "UBOT"])
    bot.llm.script(SEARCH, text_reply("March 3."))
    event = channel_message("<@UBOT> When does Gizmo launch?")
    event["action_token"] = bot.slack.issue_action_token("U1")
    await bot.send({**event, "type": "app_mention"})
    await bot.send({k: v for k, v in event.items() if k != "action_token"})
    await bot.wait_reply_done("C1", event["ts"])
    [result] = tool_messages(bot.llm.requests[1])
    found = json.loads(result)
    assert [r["text"] for r in found["results"]] == [LAUNCH]
    assert BUDGET not in result and "secret-plans" not in result and "CPRIV" not in result
    assert found["withheld"].startswith("1 more result")


async def test_no_action_token_no_search_tool(bot: Harness) -> None:
    bot.llm.script(text_reply("Hello."))
    event = await bot.mention("hello")
    await bot.wait_reply_done("C1", event["ts"])
    assert "search_slack" not in tools_offered(bot.llm.requests[0])
    assert "current_datetime" in tools_offered(bot.llm.requests[0])


@pytest.mark.parametrize(
    ("setup", "explained"),
    [
        (lambda s: setattr(s, "search_scopes", {"search:read.public"}), "missing_scope"),
        (
            lambda s: s.fail_next("assistant.search.context", status=429, retry_after=1),
            "ratelimited",
        ),
        (None, "invalid_action_token"),
    ],
    ids=["missing_scope", "ratelimited", "expired_action_token"],
)
async def test_search_errors_become_a_result_the_model_explains(
    bot: Harness, setup: Any, explained: str
) -> None:
    seed(bot)
    if setup is not None:
        setup(bot.slack)
    bot.llm.script(SEARCH, text_reply("I could not search Slack just now."))
    token = None if setup is not None else "1.U1.expired"
    thread_ts = await ask_in_dm(bot, "When does Gizmo launch?", token=token)
    [result] = tool_messages(bot.llm.requests[1])
    expected = REFUSED[explained].split("(")[0].split("{")[0]
    assert result.startswith("Error: ") and expected in result, result
    replies = await bot.wait_reply_done("D1", thread_ts)
    assert text_of(replies[-1]) == "I could not search Slack just now."


async def test_a_configured_user_token_searches_public_channels_only(harness: Harness) -> None:
    harness.slack.user_tokens["xoxp-search"] = "U1"
    bot = await harness.start(slack_search_user_token="xoxp-search")
    seed(bot)
    bot.llm.script(SEARCH, text_reply("March 3."))
    event = await bot.mention("When does Gizmo launch?")  # no action_token on the event
    await bot.wait_reply_done("C1", event["ts"])
    [search] = bot.slack.calls_to("assistant.search.context")
    assert search.token == "xoxp-search" and "action_token" not in search.args
    assert search.args["channel_types"] == "public_channel"
    assert BUDGET not in tool_messages(bot.llm.requests[1])[0]


async def test_public_results_stay_out_of_a_thread_where_someone_cannot_see_them(
    bot: Harness,
) -> None:
    seed(bot)
    bot.slack.add_channel("C1", "general", members=["U1", "U3", "UBOT"])
    bot.slack.add_user("U3", is_restricted=True)  # a guest, not in #launches
    bot.llm.script(text_reply("Hi!"), SEARCH, text_reply("I can't share that here."))
    root = await bot.mention("hello", user="U3")
    await bot.wait_reply_done("C1", root["ts"])
    event = channel_message("<@UBOT> When does Gizmo launch?", thread_ts=root["ts"])
    event["action_token"] = bot.slack.issue_action_token("U1")
    await bot.send({**event, "type": "app_mention"})
    await bot.wait_reply_done("C1", root["ts"], count=2)
    [result] = tool_messages(bot.llm.requests[2])
    found = json.loads(result)
    assert found["results"] == [] and LAUNCH not in result
    assert found["withheld"].startswith("2 more result")
