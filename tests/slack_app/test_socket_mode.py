"""Socket Mode: the real Bolt socket handler connects to the fake Slack and answers events."""

from __future__ import annotations

import json

from bot.testing.harness import Harness, channel_message, text_of
from bot.testing.openai import text_reply
from bot.testing.signing import event_body


async def test_socket_mode_mention_is_acked_and_answered(harness: Harness) -> None:
    bot = await harness.start(slack_app_token="xapp-test", slack_signing_secret=None)
    assert bot.runtime is not None and bot.runtime.port is None  # no HTTP server in Socket Mode
    bot.llm.script(text_reply("Over the socket.", pieces=3))
    event = channel_message("<@UBOT> hi over socket")
    ack = await bot.slack.send_socket_event(
        json.loads(event_body({**event, "type": "app_mention"}))
    )
    assert "envelope_id" in ack
    # The message.channels twin arrives too and must not give a second answer.
    await bot.slack.send_socket_event(json.loads(event_body(event)))
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert [text_of(r) for r in replies] == ["Over the socket."]
    assert len(bot.slack.calls_to("chat.postMessage")) == 1
    assert bot.slack.calls_to("apps.connections.open")
