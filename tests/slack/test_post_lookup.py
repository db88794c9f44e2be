"""Posts whose outcome is unknown are looked up, never sent twice (real slack_sdk, fake Slack)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.retry import retry_handlers
from bot.slack.writer import SlackWriteFailed, SlackWriter
from bot.testing.slack import FakeSlack


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


def client(slack: FakeSlack, **kw: object) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=slack.api_url, **kw)  # type: ignore[arg-type]


async def test_default_sdk_retry_would_post_twice(fake: FakeSlack) -> None:
    """Why the bot replaces slack_sdk's default handler: it resends a post that landed."""
    fake.cut_after_applying("chat.postMessage")
    await client(fake).chat_postMessage(channel="C1", text="hi")  # retried once, silently
    assert len(fake.bot_messages("C1")) == 2


async def test_bot_retry_handlers_leave_posts_alone(fake: FakeSlack) -> None:
    fake.cut_after_applying("chat.postMessage")
    fake.cut_after_applying("chat.startStream")
    web = client(fake, retry_handlers=retry_handlers())
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await web.chat_postMessage(channel="C1", text="hi")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await web.api_call("chat.startStream", json={"channel": "D1", "thread_ts": "1.0"})
    assert len(fake.bot_messages()) == 2  # one each, not resent
    fake.cut_after_applying("chat.update")
    ts = fake.bot_messages("C1")[0]["ts"]
    await web.chat_update(channel="C1", ts=ts, text="edited")  # an edit may be resent
    assert len(fake.calls_to("chat.update")) == 2


async def test_post_cut_after_applying_is_found_not_reposted(fake: FakeSlack) -> None:
    writer = SlackWriter(client(fake, retry_handlers=retry_handlers()), backoff=0.001)
    fake.cut_after_applying("chat.postMessage")
    response = await writer.call("T1", "chat.postMessage", channel="C1", thread_ts="1.0", text="a")
    assert [m["ts"] for m in fake.bot_messages("C1")] == [response["ts"]]
    lookup = fake.calls_to("conversations.replies")
    assert len(lookup) == 1 and lookup[0].args["include_all_metadata"] == "true"


async def test_post_timeout_after_applying_is_found(fake: FakeSlack) -> None:
    web = client(fake, retry_handlers=retry_handlers(), timeout=1)
    writer = SlackWriter(web, backoff=0.001)
    fake.cut_after_applying("chat.postMessage", hang=3)  # applied; answer never comes
    response = await writer.call("T1", "chat.postMessage", channel="C1", thread_ts="1.0", text="a")
    assert [m["ts"] for m in fake.bot_messages("C1")] == [response["ts"]]


async def test_post_that_did_not_land_is_sent_again(fake: FakeSlack) -> None:
    web = client(fake, retry_handlers=retry_handlers(), timeout=1)
    writer = SlackWriter(web, backoff=0.001)
    fake.stall("chat.postMessage")  # never applied: the lookup finds nothing

    async def unstall() -> None:
        await fake.wait_for(lambda: bool(fake.held))
        fake.unstall("chat.postMessage")

    task = asyncio.create_task(unstall())
    response = await writer.call("T1", "chat.postMessage", channel="C1", thread_ts="1.0", text="a")
    await task
    assert [m["ts"] for m in fake.bot_messages("C1")] == [response["ts"]]
    assert len(fake.calls_to("conversations.replies")) == 1


async def test_post_whose_lookup_fails_is_given_up(fake: FakeSlack) -> None:
    writer = SlackWriter(client(fake, retry_handlers=retry_handlers()), backoff=0.001)
    fake.cut_after_applying("chat.postMessage")
    fake.fail_next("conversations.replies", error="ratelimited", status=429)
    with pytest.raises(SlackWriteFailed):  # not known: given up rather than risked twice
        await writer.call("T1", "chat.postMessage", channel="C1", thread_ts="1.0", text="a")
    assert len(fake.bot_messages("C1")) == 1


async def test_stream_start_with_unknown_outcome_is_given_up(fake: FakeSlack) -> None:
    writer = SlackWriter(client(fake, retry_handlers=retry_handlers()), backoff=0.001)
    fake.cut_after_applying("chat.startStream")
    with pytest.raises(SlackWriteFailed):
        await writer.call("T1", "chat.startStream", channel="D1", thread_ts="1.0")
    assert len(fake.calls_to("chat.startStream")) == 1
