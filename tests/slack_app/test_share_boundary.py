"""Sharing keeps the boundary: "Post in the thread" re-checks what the summary's tools read."""

from __future__ import annotations

import json

import pytest

from bot import texts
from bot.db.records import NewMessage, ThreadKey
from bot.slack_app import shortcuts
from bot.slack_app.share import POST_ACTION
from bot.testing.harness import Harness, text_of
from bot.testing.interactive import click, element, message_shortcut
from bot.testing.openai import text_reply, tool_call_reply
from bot.testing.stored import stored_replies
from bot.testing.toolchecks import link

WIRE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _read(url: str) -> tuple[str, str, str]:
    return ("c1", "read_slack_message", json.dumps({"permalink": url}))


async def summarize_and_click(bot: Harness, thread: dict[str, str]) -> str:
    """Run Summarize on `thread` as U1, click "Post in the thread"; return the DM's offer ts."""
    await bot.interact(message_shortcut(shortcuts.SUMMARIZE, thread))
    dm = bot.slack.dm_of("U1")
    await bot.slack.wait_for(lambda: bot.slack.bot_messages(dm), timeout=10)
    header = [m for m in bot.slack.bot_messages(dm) if not m["thread_ts"]][-1]

    def offer() -> dict | None:
        found = [m for m in bot.slack.replies(dm, header["ts"]) if element(m, POST_ACTION)]
        return found[0] if found else None

    await bot.slack.wait_for(lambda: offer() is not None, timeout=10)
    made = offer()
    assert made is not None
    assert (await bot.interact(click(made, POST_ACTION)))[0] == 200
    await bot.slack.wait_for(
        lambda: (
            bot.slack.message(dm, made["ts"])["text"]
            in (texts.POST_SUMMARY_PRIVATE, texts.POST_SUMMARY_DONE)
        )
    )
    return str(bot.slack.message(dm, made["ts"])["text"])


@WIRE_ONLY
async def test_a_shared_summary_publishes_a_private_channel(bot: Harness) -> None:
    """Finding 4: the summary's tool read a private channel; posting it must be refused."""
    bot.slack.add_channel("G9", "secret-plans", is_private=True, members=["UBOT", "U1"])
    secret = bot.slack.add_message("G9", "the merger closes Friday", "U9")
    root = bot.slack.add_message("C1", f"What is this about? {link('G9', secret)}", "U2")
    thread = {"channel": "C1", "ts": root, "thread_ts": root, "user": "U2"}
    bot.llm.script(
        tool_call_reply([_read(link("G9", secret))]),
        text_reply("- U2 links a private note: the merger closes Friday."),
    )
    said = await summarize_and_click(bot, thread)
    # In the asker's DM the tool could read it (the summary is theirs alone) ...
    assert "the merger closes Friday" in json.dumps(bot.llm.requests[-1]["messages"])
    # ... but it never reaches the public thread.
    assert said == texts.POST_SUMMARY_PRIVATE
    assert not bot.slack.bot_messages("C1")
    assert not any("merger" in json.dumps(c.args) for c in bot.slack.calls_to("chat.postMessage")
                   if c.args.get("channel") == "C1")  # fmt: skip


@WIRE_ONLY
async def test_a_summary_whose_tool_read_only_public_channels_is_posted(bot: Harness) -> None:
    bot.slack.add_channel("C2", "roadmap", members=["UBOT", "U1", "U2"])
    words = bot.slack.add_message("C2", "ship the beta in May", "U9")
    root = bot.slack.add_message("C1", f"See {link('C2', words)}", "U2")
    thread = {"channel": "C1", "ts": root, "thread_ts": root, "user": "U2"}
    bot.llm.script(tool_call_reply([_read(link("C2", words))]), text_reply("- Beta in May."))
    assert await summarize_and_click(bot, thread) == texts.POST_SUMMARY_DONE
    [posted] = bot.slack.bot_messages("C1")
    assert text_of(posted) == texts.shared_summary("U1", "- Beta in May.")


@WIRE_ONLY
async def test_post_in_the_thread_row_is_appended_outside_the_thread_lock(harness: Harness) -> None:
    """Review finding: a share landing between a tool call and its result broke the round."""
    from tests.tools import sample_tools

    sample_tools.reset()
    bot = await harness.start(tool_modules="tests.tools.sample_tools")
    bot.llm.script(
        tool_call_reply([("g1", "wait_for_gate", "{}")]),
        text_reply("- Someone is waiting on a gate."),
        text_reply("The gate opened."),
    )
    asked = await bot.mention("open the gate please", user="U2")
    await bot.slack.wait_for(lambda: len(bot.llm.requests) == 1)  # the tool is running now
    thread = {"channel": "C1", "ts": asked["ts"], "thread_ts": asked["ts"], "user": "U2"}
    await bot.interact(message_shortcut(shortcuts.SUMMARIZE, thread))
    dm = bot.slack.dm_of("U1")
    await bot.slack.wait_for(
        lambda: any(element(m, POST_ACTION) for m in bot.slack.bot_messages(dm))
    )
    offer = next(m for m in bot.slack.bot_messages(dm) if element(m, POST_ACTION))
    assert (await bot.interact(click(offer, POST_ACTION)))[0] == 200
    await bot.slack.wait_for(lambda: bot.slack.bot_messages("C1") and any(
        "Someone is waiting" in text_of(m) for m in bot.slack.bot_messages("C1")))  # fmt: skip
    sample_tools.STATE.gate.set()  # the tool answers only now, after the share was posted
    await bot.wait_reply_done("C1", asked["ts"], count=2, timeout=15)
    await bot.slack.wait_for(
        lambda: bot.slack.message(dm, offer["ts"])["text"] == texts.POST_SUMMARY_DONE
    )
    assert len(bot.llm.requests) == 3, "the tool round ran once"
    second = bot.llm.requests[2]["messages"]
    roles = [m["role"] for m in second]
    at = next(i for i, m in enumerate(second) if m.get("tool_calls"))
    assert roles[at + 1] == "tool", "the tool result follows its call"
    stored = [r.content for r in await stored_replies(bot)]
    assert stored[-1] == "- Someone is waiting on a gate.", "the share comes after the turn"


@WIRE_ONLY
async def test_a_long_private_follow_up_does_not_change_what_is_posted(bot: Harness) -> None:
    """The button posts the summary and checks its tools, however long the DM thread grew."""
    bot.slack.add_channel("G9", "secret-plans", is_private=True, members=["UBOT", "U1"])
    secret = bot.slack.add_message("G9", "the merger closes Friday", "U9")
    root = bot.slack.add_message("C1", f"What is this about? {link('G9', secret)}", "U2")
    thread = {"channel": "C1", "ts": root, "thread_ts": root, "user": "U2"}
    bot.llm.script(
        tool_call_reply([_read(link("G9", secret))]),
        text_reply("- U2 links a private note: the merger closes Friday."),
    )
    await bot.interact(message_shortcut(shortcuts.SUMMARIZE, thread))
    dm = bot.slack.dm_of("U1")
    await bot.slack.wait_for(lambda: bot.slack.bot_messages(dm), timeout=10)
    header = [m for m in bot.slack.bot_messages(dm) if not m["thread_ts"]][-1]

    def offer() -> dict | None:
        found = [m for m in bot.slack.replies(dm, header["ts"]) if element(m, POST_ACTION)]
        return found[0] if found else None

    await bot.slack.wait_for(lambda: offer() is not None, timeout=10)
    await bot.settle()
    # The asker went on talking privately under the summary (stored as the turns store it).
    assert bot.runtime is not None and bot.runtime.bot is not None
    key = ThreadKey("T1", dm, header["ts"])
    for n in range(60):
        await bot.runtime.bot.store.append(
            key,
            [
                NewMessage("user", f"private question {n}", user_id="U1", slack_ts=f"9{n}.1"),
                NewMessage("assistant", f"private answer {n}", slack_ts=f"9{n}.2"),
            ],
        )
    made = offer()
    assert made is not None
    assert (await bot.interact(click(made, POST_ACTION)))[0] == 200
    await bot.slack.wait_for(
        lambda: (
            bot.slack.message(dm, made["ts"])["text"]
            in (texts.POST_SUMMARY_PRIVATE, texts.POST_SUMMARY_DONE)
        )
    )
    assert bot.slack.message(dm, made["ts"])["text"] == texts.POST_SUMMARY_PRIVATE
    posted = [c.args for c in bot.slack.calls_to("chat.postMessage") if c.args["channel"] == "C1"]
    assert not posted, posted
