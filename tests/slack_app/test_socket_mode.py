"""Socket Mode: the real Bolt socket handler connects to the fake Slack and answers events."""

from __future__ import annotations

import json

from bot.testing.harness import Harness, channel_message, text_of
from bot.testing.openai import text_reply
from bot.testing.signing import event_body


async def test_socket_mode_mention_is_acked_and_answered(harness: Harness) -> None:
    bot = await harness.start(slack_app_token="xapp-test", slack_signing_secret=None)
    assert bot.runtime is not None and bot.runtime.port  # /healthz only (test below)
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


async def test_socket_mode_serves_healthz_and_nothing_else(harness: Harness) -> None:
    """The container HEALTHCHECK asks http://127.0.0.1:$PORT/healthz in Socket Mode too."""
    bot = await harness.start(slack_app_token="xapp-test", slack_signing_secret=None)
    assert bot.http is not None
    async with bot.http.get(f"{bot.url}/healthz") as response:
        assert response.status == 200 and (await response.json()) == {"ok": True}
    async with bot.http.post(f"{bot.url}/slack/events", data="{}") as response:
        assert response.status == 404, "events come over the socket, not HTTP"
    assert "slackbot_turns" in await bot.scrape()  # behind METRICS_TOKEN on that port too
    await bot.stop(grace=0)


async def test_socket_mode_refuses_a_denied_user_with_an_ack_and_one_note(
    harness: Harness,
) -> None:
    """The access lists are a Bolt middleware: over the socket they refuse as over HTTP."""
    bot = await harness.start(
        slack_app_token="xapp-test", slack_signing_secret=None, deny_users="U666"
    )
    event = channel_message("<@UBOT> let me in", user="U666")
    ack = await bot.slack.send_socket_event(
        json.loads(event_body({**event, "type": "app_mention"}))
    )
    assert "envelope_id" in ack
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("chat.postEphemeral")))
    await bot.settle()
    assert not bot.llm.requests, "a refused mention never reaches the model"
    [note] = bot.slack.calls_to("chat.postEphemeral")
    assert note.args["user"] == "U666"
