"""The fake Slack's agent platform methods, through the real slack_sdk client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.testing.slack import FakeSlack


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def web(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=slack.api_url)


async def error_of(call: object) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call  # type: ignore[misc]
    return str(caught.value.response["error"])


async def test_session_statuses_title_on_creation_and_rename(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    await web.agents_sessions_setStatus(
        channel_id="C1", thread_ts="1.1", status="processing", title="First"
    )
    await web.agents_sessions_setStatus(
        channel_id="C1", thread_ts="1.1", status="active", title="Ignored"
    )
    assert slack.session_statuses("C1", "1.1") == ["processing", "active"]
    assert slack.sessions[("C1", "1.1")]["title"] == "First", "a title counts only at creation"
    await web.agents_sessions_rename(channel_id="C1", thread_ts="1.1", title="Renamed")
    assert slack.sessions[("C1", "1.1")]["title"] == "Renamed"
    bad = web.agents_sessions_setStatus(channel_id="C1", thread_ts="1.1", status="thinking")
    assert await error_of(bad) == "invalid_arguments"
    missing = web.agents_sessions_rename(channel_id="C1", thread_ts="9.9", title="x")
    assert await error_of(missing) == "session_not_found"
    threadless = web.agents_sessions_setStatus(channel_id="C1", status="processing")
    assert await error_of(threadless) == "invalid_arguments", "thread-based sessions only"
    long = web.agents_sessions_setStatus(
        channel_id="C1", thread_ts="2.2", status="processing", title="x" * 201
    )
    assert await error_of(long) == "invalid_arguments", "titles are at most 200 characters"


async def test_unsubscribed_app_is_warned(slack: FakeSlack, web: AsyncWebClient) -> None:
    slack.stop_event_subscribed = False
    answer = await web.agents_sessions_setStatus(channel_id="C1", thread_ts="1.1", status="active")
    assert answer["warning"] == "missing_agent_session_stopped_event_subscription"


async def test_search_needs_an_action_token_with_a_bot_token(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    slack.add_message("C2", "Gizmo ships Friday", user="U7")
    assert await error_of(web.assistant_search_context(query="Gizmo")) == "invalid_action_token"
    token = slack.issue_action_token("U1")
    found = await web.assistant_search_context(query="Gizmo", action_token=token)
    [message] = found["results"]["messages"]
    assert set(message) == {
        "author_user_id",
        "team_id",
        "channel_id",
        "channel_name",
        "message_ts",
        "content",
        "is_author_bot",
        "permalink",
    }
    too_many = web.assistant_search_context(query="Gizmo", action_token=token, limit=21)
    assert await error_of(too_many) == "invalid_arguments"


async def test_search_returns_only_what_the_asker_can_read(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    slack.add_channel("G1", "theirs", is_private=True, members=["U9"])
    slack.add_channel("G2", "ours", is_private=True, members=["U1"])
    slack.add_message("G1", "Gizmo secret of U9", user="U9")
    slack.add_message("G2", "Gizmo note of U1", user="U1")
    token = slack.issue_action_token("U1")
    found = await web.assistant_search_context(
        query="Gizmo", action_token=token, channel_types=["public_channel", "private_channel"]
    )
    assert [m["content"] for m in found["results"]["messages"]] == ["Gizmo note of U1"]
    slack.search_scopes = {"search:read.public"}
    scoped = web.assistant_search_context(
        query="Gizmo", action_token=token, channel_types=["private_channel"]
    )
    assert await error_of(scoped) == "missing_scope"


async def test_stop_stream_session_status_moves_the_session(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    await web.agents_sessions_setStatus(channel_id="D1", thread_ts="1.1", status="processing")
    started = await web.chat_startStream(channel="D1", thread_ts="1.1")
    await web.chat_stopStream(channel="D1", ts=started["ts"], session_status="active")
    assert slack.session_statuses("D1", "1.1") == ["processing", "active"]
    again = await web.chat_startStream(channel="D1", thread_ts="1.1")
    bad = web.chat_stopStream(channel="D1", ts=again["ts"], session_status="done")
    assert await error_of(bad) == "invalid_arguments"
