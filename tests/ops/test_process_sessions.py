"""A bot process killed mid-answer leaves its agent session `processing`; recovery ends it."""

from __future__ import annotations

import signal
from typing import Any

from bot import texts
from bot.testing.harness import channel_message, text_of
from bot.testing.openai import FakeOpenAI, text_reply
from bot.testing.processes import diagnose
from bot.testing.slack import FakeSlack

LONG = " ".join(f"step{i}" for i in range(120))


async def test_sigkill_mid_answer_then_restart_leaves_the_session_active(
    launch: Any, slack: FakeSlack, llm: FakeOpenAI
) -> None:
    llm.script(text_reply(LONG, delay=0.1))
    event = channel_message("<@UBOT> count")
    async with launch() as bot:
        await bot.send({**event, "type": "app_mention"})
        await slack.wait_for(
            lambda: any(text_of(m).startswith("step0") for m in slack.bot_messages("C1")),
            what="the answer is streaming",
        )
        await bot.signal(signal.SIGKILL)
    # Killed while working: Slack still shows the session processing, with a Stop button
    # that nothing would answer.
    assert slack.session_statuses("C1", event["ts"]) == ["processing"]
    async with launch(PORT=str(bot.port)) as again:
        pass
    [reply] = [text_of(m) for m in slack.bot_messages("C1")]
    assert reply.endswith(texts.INTERRUPTED.strip()), diagnose(slack, again)
    assert slack.session_statuses("C1", event["ts"]) == ["processing", "active"]
