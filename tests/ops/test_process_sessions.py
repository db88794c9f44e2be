"""A bot process killed mid-answer leaves its agent session `processing`; the resume ends it."""

from __future__ import annotations

import signal
from typing import Any

from bot.llm.client import RESUME_INSTRUCTION
from bot.testing.harness import channel_message, text_of
from bot.testing.openai import FakeOpenAI, text_reply
from bot.testing.processes import diagnose
from bot.testing.slack import FakeSlack

LONG = " ".join(f"step{i}" for i in range(120))


async def test_sigkill_mid_answer_then_restart_leaves_the_session_active(
    launch: Any, slack: FakeSlack, llm: FakeOpenAI
) -> None:
    def respond(body: dict[str, Any]) -> Any:
        if body["messages"][-1]["content"] == RESUME_INSTRUCTION:  # the resume starts over
            return text_reply(LONG, pieces=500)
        return text_reply(LONG, delay=0.1)

    llm.responder = respond
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
    # The same service restarted resumes the answer (issue 23) and ends the session with it.
    async with launch(PORT=str(bot.port)) as again:
        try:
            await slack.wait_for(
                lambda: slack.session_statuses("C1", event["ts"])[-1:] == ["active"],
                timeout=30,
                what="the resumed answer ended its session",
            )
        except AssertionError:
            raise AssertionError(diagnose(slack, again)) from None
    [reply] = [text_of(m) for m in slack.bot_messages("C1")]
    assert reply == LONG, diagnose(slack, again)
    assert slack.session_statuses("C1", event["ts"])[0] == "processing"
    assert slack.session_statuses("C1", event["ts"]).count("active") == 1
