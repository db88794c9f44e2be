"""History that fits the server: a follow-up against a small reported window is not cut."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot import texts
from bot.llm import context_window, server_template
from bot.testing.harness import Harness, channel_message, text_of
from bot.testing.openai import FakeOpenAI, text_reply

LONG = "The river flows past the old mill and under the stone bridge. " * 100  # 6,300 chars
SECOND = "Follow-up answer. " * 150  # 2,700 chars: about 675 of the fake's tokens


async def two_questions(harness: Harness) -> str:
    """Ask, get a long answer, follow up; return the follow-up's final text."""
    harness.llm.script(text_reply(LONG, pieces=500), text_reply(SECOND, pieces=300))
    first = await harness.mention("tell me about the river")
    await harness.wait_reply_done("C1", first["ts"])
    follow = channel_message("<@UBOT> and the mill?", thread_ts=first["ts"])
    await harness.send(follow)
    await harness.slack.wait_for(lambda: len(harness.llm.requests) == 2)
    await harness.settle()
    return text_of(harness.slack.bot_messages("C1")[-1])


@pytest.mark.parametrize("where", ["props", "models"])
async def test_follow_up_fits_a_small_reported_window(
    harness: Harness, llm: FakeOpenAI, where: str
) -> None:
    llm.context_window, llm.window_reported_by = 2048, where  # llama.cpp's -c 2048
    await harness.start()
    shown = await two_questions(harness)
    assert texts.LENGTH_LIMIT.strip() not in shown
    assert shown.strip() == SECOND.strip()
    sent = llm.requests[-1]["messages"]
    assert LONG not in [m.get("content") for m in sent], "the long answer no longer fits"
    assert sent[-1]["content"].endswith("and the mill?")


async def test_a_set_history_budget_is_kept_and_the_cut_is_logged_once(
    harness: Harness, llm: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    llm.context_window = 2048
    await harness.start(history_token_budget=8000)  # the operator's word stands
    with caplog.at_level(logging.WARNING, logger="bot.llm.context_window"):
        shown = await two_questions(harness)
    assert texts.LENGTH_LIMIT.strip() in shown, "this server cuts the follow-up"
    logged = [r.getMessage() for r in caplog.records if "context window" in r.getMessage()]
    assert len(logged) == 1 and "set HISTORY_TOKEN_BUDGET lower" in logged[0], logged


async def test_a_server_that_reports_nothing_keeps_the_configured_budget(
    harness: Harness, llm: FakeOpenAI
) -> None:
    llm.context_window, llm.window_reported_by = 100_000, "none"
    await harness.start()
    await two_questions(harness)
    sent = [m.get("content") for m in llm.requests[-1]["messages"]]
    assert LONG in sent, "the whole thread still goes with the default budget"


async def test_a_hung_props_lookup_does_not_hold_the_first_answer(
    harness: Harness, llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A gateway that never answers /props: with the lookups' own timeouts out of the way,
    # an answer that waited for them would never come.
    monkeypatch.setattr(context_window, "LOOKUP_TIMEOUT", 600.0)
    monkeypatch.setattr(server_template, "PROPS_TIMEOUT", 600.0)
    llm.context_window, llm.props_gate = 2048, asyncio.Event()
    await harness.start()
    first = await harness.mention("hello there")
    replies = await harness.wait_reply_done("C1", first["ts"])
    assert text_of(replies[-1]).strip() == "echo: hello there"
    # The lookup went on behind the answer: once /props answers, later turns fit the window.
    llm.props_gate.set()
    shown = await two_questions(harness)
    assert shown.strip() == SECOND.strip()
    sent = llm.requests[-1]["messages"]
    assert LONG not in [m.get("content") for m in sent], "the window was learned after all"
