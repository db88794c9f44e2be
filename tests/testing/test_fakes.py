"""Exercise the fake Slack and OpenAI servers through the real client libraries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import openai
import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam
from slack_sdk.errors import SlackApiError
from slack_sdk.models.messages.chunk import MarkdownTextChunk
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.testing.openai import FakeOpenAI, error_reply, text_reply, tool_call_reply
from bot.testing.signing import event_body, signed_headers
from bot.testing.slack import FakeSlack

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def web(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=slack.api_url)


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
async def oai(llm: FakeOpenAI) -> AsyncIterator[AsyncOpenAI]:
    client = AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=0)
    yield client
    await client.close()


async def _collect(
    stream: openai.AsyncStream[ChatCompletionChunk],
) -> tuple[str, list[ChatCompletionChunk]]:
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


# ---- Slack ------------------------------------------------------------------------------


async def test_chat_update_keeps_blocks_unless_blocks_or_text_are_given(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    """chat.update's documented rule, and the strict reading for `markdown_text` alone."""
    blocks = [{"type": "markdown", "text": "old"}, {"type": "divider"}]
    posted = await web.chat_postMessage(channel="C9", text="old", blocks=blocks)
    await web.chat_update(channel="C9", ts=posted["ts"], markdown_text="new")
    message = slack.message("C9", posted["ts"])
    assert message is not None and message["blocks"] == blocks, "markdown_text alone keeps them"
    await web.chat_update(channel="C9", ts=posted["ts"], text="plain")
    assert message["blocks"] is None and message["text"] == "plain", "text alone removes them"
    await web.chat_update(channel="C9", ts=posted["ts"], blocks=blocks, text="old")
    await web.chat_update(channel="C9", ts=posted["ts"], blocks=[], text="empty")
    assert message["blocks"] is None, "`blocks: []` removes them"
    with pytest.raises(SlackApiError, match="markdown_text_conflict"):
        await web.chat_update(channel="C9", ts=posted["ts"], markdown_text="x", blocks=[])


async def test_slack_post_update_replies_and_delete(slack: FakeSlack, web: AsyncWebClient) -> None:
    auth = await web.auth_test()
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == ("T1", "UBOT", "BBOT")

    parent = slack.add_message("C1", "question?", user="U1")
    posted = await web.chat_postMessage(channel="C1", thread_ts=parent, text="thinking")
    ts = posted["ts"]
    assert posted["message"]["bot_id"] == "BBOT" and float(ts) > float(parent)
    await web.chat_update(channel="C1", ts=ts, text="answer")
    assert slack.messages[("C1", ts)]["edits"] == 1

    thread = (await web.conversations_replies(channel="C1", ts=parent))["messages"]
    assert [(m["text"], m.get("bot_id")) for m in thread] == [
        ("question?", None),
        ("answer", "BBOT"),
    ]
    assert thread[0]["reply_count"] == 1 and thread[1]["thread_ts"] == parent
    assert [m["text"] for m in slack.bot_messages("C1")] == ["answer"]

    # Form-encoded body with a JSON-encoded ``blocks`` field, as slack_sdk sends for ``data=``.
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*b*"}}]
    form = await web.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "b", "blocks": json.dumps(blocks)}
    )
    assert slack.calls_to("chat.postMessage")[-1].args["blocks"] == blocks
    await web.chat_delete(channel="C1", ts=form["ts"])  # sent as a POST query string
    assert slack.message("C1", form["ts"]) is None


def md(text: str) -> dict[str, str]:
    return {"type": "markdown", "text": text}


def section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.slack_limits_tested
async def test_slack_validation_errors(slack: FakeSlack, web: AsyncWebClient) -> None:
    # Slack cuts a longer `text` at 40,000; the fake refuses it, so no test passes on a cut.
    with pytest.raises(SlackApiError) as err:
        await web.chat_postMessage(channel="C1", text="x" * 40_001)
    assert err.value.response["error"] == "msg_too_long"
    ts = (await web.chat_postMessage(channel="C1", text="x" * 40_000))["ts"]
    with pytest.raises(SlackApiError) as err:
        await web.chat_update(channel="C1", ts=ts, text="y" * 4_001)
    assert err.value.response["error"] == "msg_too_long"
    cases = [
        (
            "chat.postMessage",
            {"channel": "C1", "text": "a", "markdown_text": "b"},
            "markdown_text_conflict",
        ),
        ("chat.postMessage", {"channel": "C1"}, "no_text"),
        ("chat.postMessage", {"text": "a"}, "channel_not_found"),
        ("chat.update", {"channel": "C1", "ts": "1.2", "text": "a"}, "message_not_found"),
        ("chat.postMessage", {"channel": "C1", "markdown_text": "m" * 12_001}, "msg_too_long"),
        ("no.such.method", {}, "unknown_method"),
        ("chat.postMessage", {"channel": "C1", "blocks": [md("m" * 12_001)]}, "invalid_blocks"),
        (
            "chat.postMessage",
            {"channel": "C1", "blocks": [md("m" * 6_001), md("m" * 6_000)]},
            "invalid_blocks",
        ),
        ("chat.postMessage", {"channel": "C1", "blocks": [md("m")] * 51}, "invalid_blocks"),
        ("chat.postMessage", {"channel": "C1", "blocks": [section("s" * 3_001)]}, "invalid_blocks"),
        (
            "chat.update",
            {"channel": "C1", "ts": ts, "blocks": [md("m" * 12_001)]},
            "invalid_blocks",
        ),
    ]
    for method, payload, error in cases:
        with pytest.raises(SlackApiError) as err:
            await web.api_call(method, json=payload)
        assert err.value.response["error"] == error, method
    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(base_url=slack.api_url).auth_test()
    assert err.value.response["error"] == "not_authed"
    assert slack.calls[-1].status == 200 and slack.calls_to("no.such.method")


async def test_slack_fail_next_and_rate_limit(slack: FakeSlack, web: AsyncWebClient) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=3)
    with pytest.raises(SlackApiError) as err:
        await web.chat_postMessage(channel="C1", text="a")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "3"
    assert err.value.response["error"] == "ratelimited"
    await web.chat_postMessage(channel="C1", text="a")
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]

    slack.fail_next("chat.update", status=500, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError, match="status: 500"):
            await web.chat_update(channel="C1", ts="1.1", text="a")

    slack.set_rate_limit("reactions.add", per_minute=1, burst=2)
    for _ in range(2):
        await web.reactions_add(channel="C1", timestamp="1.1", name="eyes")
    with pytest.raises(SlackApiError) as err:
        await web.reactions_add(channel="C1", timestamp="1.1", name="eyes")
    assert int(err.value.response.headers["Retry-After"]) >= 1
    assert slack.rate_limited == 2


async def test_slack_stream_ttl_expiry() -> None:
    async with FakeSlack(stream_ttl=0.05) as short:
        client = AsyncWebClient(token="xoxb-test", base_url=short.api_url)
        ts = (await client.chat_startStream(channel="D1", thread_ts="1.1"))["ts"]
        await short.wait_for(lambda: not (short.message("D1", ts) or {})["streaming"])
        with pytest.raises(SlackApiError, match="message_not_in_streaming_state"):
            await client.chat_appendStream(channel="D1", ts=ts, markdown_text="late")


async def test_slack_stream_lifecycle(slack: FakeSlack, web: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError, match="missing_recipient_user_id"):
        await web.chat_startStream(channel="C1", thread_ts="1.1")
    started = await web.chat_startStream(
        channel="C1",
        thread_ts="1.1",
        recipient_user_id="U1",
        recipient_team_id="T1",
        markdown_text="Hel",
    )
    ts = started["ts"]
    await web.chat_appendStream(channel="C1", ts=ts, markdown_text="lo ")
    await web.chat_appendStream(channel="C1", ts=ts, chunks=[MarkdownTextChunk(text="world")])
    stopped = await web.chat_stopStream(channel="C1", ts=ts, blocks=[{"type": "divider"}])
    message = slack.message("C1", ts)
    assert message is not None and message["markdown_text"] == "Hello world"
    assert not message["streaming"] and stopped["message"]["blocks"] == [{"type": "divider"}]
    with pytest.raises(SlackApiError, match="message_not_in_streaming_state"):
        await web.chat_appendStream(channel="C1", ts=ts, markdown_text="more")

    # slack_sdk's own buffering helper works against the fake too.
    streamer = await web.chat_stream(channel="D1", thread_ts="1.1", buffer_size=4)
    for piece in ["one ", "two ", "three"]:
        await streamer.append(markdown_text=piece)
    await streamer.stop()
    assert streamer.ts is not None
    assert slack.messages[("D1", streamer.ts)]["markdown_text"] == "one two three"

    ts2 = (await web.chat_startStream(channel="D1", thread_ts="1.1"))["ts"]
    slack.expire_stream("D1", ts2)
    with pytest.raises(SlackApiError, match="message_not_in_streaming_state"):
        await web.chat_stopStream(channel="D1", ts=ts2)


async def test_slack_lookups_delay_and_wait_for(slack: FakeSlack, web: AsyncWebClient) -> None:
    slack.add_channel("C9", "random", is_private=True)
    slack.add_user("U1", real_name="Ada Lovelace", tz="UTC")
    assert (await web.conversations_info(channel="C9"))["channel"]["name"] == "random"
    assert (await web.conversations_info(channel="D1"))["channel"]["is_im"] is True
    user = (await web.users_info(user="U1"))["user"]
    assert (user["real_name"], user["tz"], user["profile"]["real_name"]) == (
        "Ada Lovelace",
        "UTC",
        "Ada Lovelace",
    )
    assert (await web.users_info(user="U2"))["user"]["tz_offset"] == 3600
    await web.assistant_threads_setStatus(channel_id="D1", thread_ts="1.1", status="thinking")
    assert slack.calls_to("assistant.threads.setStatus")[0].args["status"] == "thinking"

    with pytest.raises(AssertionError, match="last calls: .*setStatus"):
        await slack.wait_for(lambda: False, timeout=0.05)

    # Slow Slack: the client gives up, but the call is still processed and recorded.
    slack.delay("chat.postMessage", 0.3)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(web.chat_postMessage(channel="C1", text="late"), 0.05)
    await slack.wait_for(lambda: len(slack.bot_messages("C1")) == 1)
    assert slack.calls[-1].method == "chat.postMessage" and slack.calls[-1].status == 200


# ---- OpenAI -----------------------------------------------------------------------------


async def test_openai_streams_text_and_usage(llm: FakeOpenAI, oai: AsyncOpenAI) -> None:
    llm.script(text_reply("Hello there, world", pieces=5))
    stream = await oai.chat.completions.create(
        model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    text, chunks = await _collect(stream)
    assert text == "Hello there, world"
    first, last = chunks[0], chunks[-1]
    assert first.choices[0].delta.role == "assistant" and first.model == "m"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert last.choices == [] and last.usage is not None and last.usage.total_tokens > 0
    assert llm.requests[0]["messages"] == MESSAGES and llm.requests[0]["stream"] is True
    await llm.wait_for(lambda: llm.open_streams == 0)

    # Queue empty: the default reply echoes the last user message, streamed or not.
    text, _ = await _collect(
        await oai.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    )
    assert text == "echo: hi"
    plain = await oai.chat.completions.create(model="m", messages=MESSAGES)
    assert plain.choices[0].message.content == "echo: hi" and plain.usage is not None
    assert [m.id async for m in oai.models.list()] == ["fake-model"]


async def test_openai_wire_format(llm: FakeOpenAI) -> None:
    llm.script(text_reply("Hi"))
    async with aiohttp.ClientSession() as session:
        payload = {"model": "m", "messages": MESSAGES, "stream": True}
        async with session.post(f"{llm.base_url}/chat/completions", json=payload) as resp:
            assert resp.content_type == "text/event-stream"
            assert resp.headers["Transfer-Encoding"] == "chunked"
            raw = (await resp.read()).decode()
    events = raw.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    first = json.loads(events[0].removeprefix("data: "))
    assert list(first) == ["id", "object", "created", "model", "system_fingerprint", "choices"]
    assert first["object"] == "chat.completion.chunk" and first["system_fingerprint"] is None
    assert first["choices"] == [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": ""},
            "logprobs": None,
            "finish_reason": None,
        }
    ]


async def test_openai_tool_calls(llm: FakeOpenAI, oai: AsyncOpenAI) -> None:
    calls = [("call_1", "get_time", '{"tz": "Europe/Berlin"}'), ("call_2", "noop", "{}")]
    llm.script(tool_call_reply(calls), tool_call_reply(calls, content_before="Let me check."))
    _, chunks = await _collect(
        await oai.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    )
    deltas = [c.choices[0].model_dump(exclude_unset=True)["delta"] for c in chunks[:-1]]
    assert deltas[0] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "index": 0,
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_time", "arguments": ""},
            }
        ],
    }
    fragments = [d["tool_calls"][0] for d in deltas[1:] if d["tool_calls"][0]["index"] == 0]
    assert all(set(f) == {"index", "function"} for f in fragments)
    args = "".join(f["function"]["arguments"] for f in fragments)
    assert json.loads(args) == {"tz": "Europe/Berlin"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

    done = await oai.chat.completions.create(model="m", messages=MESSAGES)
    message = done.choices[0].message
    assert message.content == "Let me check." and done.choices[0].finish_reason == "tool_calls"
    tool_calls = [t.model_dump() for t in message.tool_calls or []]
    assert [
        (t["id"], t["function"]["name"], t["function"]["arguments"]) for t in tool_calls
    ] == calls


async def test_openai_cut_stream_raises_connection_error(llm: FakeOpenAI, oai: AsyncOpenAI) -> None:
    llm.script(text_reply("one two three four", cut_after=3))
    stream = await oai.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "one two"
    assert llm.disconnects == 0 and llm.open_streams == 0


async def test_openai_errors_and_retry_after(llm: FakeOpenAI) -> None:
    llm.script(error_reply(400, "bad model", code="model_not_found"))
    async with AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as err:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert err.value.code == "model_not_found" and err.value.status_code == 400

    limited = error_reply(429, "slow down", type="rate_limit_error", headers={"Retry-After": "0"})
    llm.script(limited, text_reply("recovered"))
    async with AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=2) as client:
        stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        assert (await _collect(stream))[0] == "recovered"
    assert len(llm.requests) == 3


async def test_openai_stall_is_detectable_and_released(llm: FakeOpenAI, oai: AsyncOpenAI) -> None:
    llm.responder = lambda body: text_reply("never finishes", stall_after=2)
    stream = await oai.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    first = await asyncio.wait_for(stream.__anext__(), 5)
    assert first.choices[0].delta.role == "assistant"
    await asyncio.wait_for(stream.__anext__(), 5)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(stream.__anext__(), 0.1)
    await stream.close()
    await llm.wait_for(lambda: llm.disconnects == 1 and llm.open_streams == 0)

    # A stall still pending at shutdown is released instead of blocking stop().
    stream = await oai.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    await llm.wait_for(lambda: llm.open_streams == 1)
    await asyncio.wait_for(llm.stop(), 5)
    with pytest.raises(openai.APIConnectionError):
        await _collect(stream)
    assert llm.disconnects == 1


# ---- Signing ----------------------------------------------------------------------------


def test_signed_event_body_verifies() -> None:
    body = event_body({"type": "app_mention", "user": "U1", "text": "<@UBOT> hi"})
    headers = signed_headers("s3cret", body)
    verifier = SignatureVerifier("s3cret")
    assert verifier.is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    envelope = json.loads(body)
    assert envelope["type"] == "event_callback" and envelope["authorizations"][0]["is_bot"]
    assert envelope["event_id"] != json.loads(event_body({"type": "message"}))["event_id"]
    assert signed_headers("s", "{}", timestamp=1)["X-Slack-Request-Timestamp"] == "1"
