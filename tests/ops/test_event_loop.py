"""`EVENT_LOOP`: `python -m bot run` answers on asyncio's own loop (the default) and on uvloop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.testing.harness import channel_message, text_of
from bot.testing.leftovers import stale_stop_buttons
from bot.testing.openai import FakeOpenAI, text_reply
from bot.testing.processes import ROOT, diagnose, stored
from bot.testing.slack import FakeSlack

ANSWER = " ".join(f"w{i}" for i in range(40))


@pytest.mark.parametrize("loop", ["uvloop", "asyncio", None])
async def test_the_bot_answers_on_the_event_loop_it_is_set_to(
    loop: str | None, launch: Any, slack: FakeSlack, llm: FakeOpenAI, tmp_path: Path
) -> None:
    if loop == "uvloop":
        pytest.importorskip("uvloop", reason="the `uvloop` extra is not installed (dev has it)")
    llm.responder = lambda body: text_reply(ANSWER, delay=0.01)
    extra = {} if loop is None else {"EVENT_LOOP": loop}
    async with launch(**extra) as bot:
        await bot.send({**channel_message("<@UBOT> count", channel="C1"), "type": "app_mention"})
        await slack.wait_for(
            lambda: [status for _, status in stored(tmp_path)] == ["complete"],
            what="the answer finished",
        )
    assert [text_of(m) for m in slack.bot_messages("C1")] == [ANSWER], diagnose(slack, bot)
    assert not stale_stop_buttons(slack.bot_messages())
    log = bot.log.read_text()
    assert f"bot is ready (event loop: {loop or 'asyncio'})" in log, log[-2000:]


async def test_uvloop_asked_for_but_missing_runs_on_asyncio_and_says_so(
    launch: Any, slack: FakeSlack, llm: FakeOpenAI, tmp_path: Path
) -> None:
    shadow = tmp_path / "no-uvloop"
    shadow.mkdir()
    (shadow / "uvloop.py").write_text("raise ImportError('not installed here')\n")
    llm.responder = lambda body: text_reply(ANSWER, delay=0.01)
    async with launch(EVENT_LOOP="uvloop", PYTHONPATH=f"{shadow}:{ROOT}") as bot:
        await bot.send({**channel_message("<@UBOT> count", channel="C1"), "type": "app_mention"})
        await slack.wait_for(
            lambda: [status for _, status in stored(tmp_path)] == ["complete"],
            what="the answer finished",
        )
    assert [text_of(m) for m in slack.bot_messages("C1")] == [ANSWER], diagnose(slack, bot)
    log = bot.log.read_text()
    assert "EVENT_LOOP=uvloop is not installed here: running on asyncio" in log, log[-2000:]
    assert "bot is ready (event loop: asyncio)" in log, log[-2000:]
