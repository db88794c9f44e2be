"""Start the real bot against the fake servers and talk to it with signed Slack requests."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.runtime import Runtime
from bot.settings import Settings, load_settings
from bot.slack.reply.markup import markdown_of
from bot.testing.openai import FakeOpenAI
from bot.testing.signing import event_body, signed_headers
from bot.testing.slack import FakeSlack

SECRET = "test-signing-secret"
METRICS_TOKEN = "test-metrics-token"
FORM = "application/x-www-form-urlencoded"
_ts = itertools.count(1)


def next_ts() -> str:
    """Return a unique human-message ts, distinct from the fake Slack's bot ts range."""
    return f"1600000000.{next(_ts):06d}"


@dataclass
class Harness:
    """The real app wired to fake Slack and a fake model, on loopback."""

    slack: FakeSlack
    llm: FakeOpenAI
    database_url: str
    overrides: dict[str, Any] = field(default_factory=dict)
    runtime: Runtime | None = None
    http: aiohttp.ClientSession | None = None
    wall: Callable[[], datetime] | None = None  # the wall clock usage days are counted on

    def settings(self) -> Settings:
        values: dict[str, Any] = {
            "slack_bot_token": "xoxb-test-token",
            "slack_signing_secret": SECRET,
            "slack_api_url": self.slack.api_url,
            "openai_api_key": "sk-test",
            "openai_base_url": self.llm.base_url,
            "openai_model": "fake-model",
            "database_url": self.database_url,
            "host": "127.0.0.1",
            "port": 0,
            "slack_update_interval": 0.2,
            "openai_max_retries": 1,
            "stream_idle_timeout": 2.0,
            "shutdown_grace": 2.0,
            "metrics_token": METRICS_TOKEN,
            "_env_file": None,
        }
        values.update(self.overrides)
        return load_settings(**values)

    @property
    def url(self) -> str:
        assert self.runtime is not None and self.runtime.port
        return f"http://127.0.0.1:{self.runtime.port}"

    async def start(self, **overrides: Any) -> Harness:
        self.overrides.update(overrides)
        self.runtime = Runtime(self.settings(), wall=self.wall)
        await self.runtime.start()
        if self.http is None:
            self.http = aiohttp.ClientSession()
        return self

    async def stop(self, grace: float | None = None) -> None:
        if self.runtime is not None:
            await self.runtime.stop(grace)
            self.runtime = None

    async def restart(self, **overrides: Any) -> None:
        await self.stop()
        await self.start(**overrides)

    async def close(self) -> None:
        await self.stop()
        if self.http is not None:
            await self.http.close()

    async def scrape(self, url: str | None = None, token: str | None = METRICS_TOKEN) -> str:
        """GET /metrics (on the events port unless `url` says where) with the bearer token."""
        assert self.http is not None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(url or f"{self.url}/metrics", headers=headers) as response:
            assert response.status == 200, response.status
            return await response.text()

    async def post_raw(self, body: str, headers: dict[str, str]) -> tuple[int, str]:
        assert self.http is not None
        async with self.http.post(f"{self.url}/slack/events", data=body, headers=headers) as r:
            return r.status, await r.text()

    async def send(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> int:
        """Deliver an Events API callback signed like Slack; return the HTTP status."""
        body = event_body(event, event_id=event_id)
        headers = signed_headers(SECRET, body)
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        status, _ = await self.post_raw(body, headers)
        return status

    async def mention(self, text: str, **kw: Any) -> dict[str, Any]:
        """Send the app_mention and message pair Slack sends for a channel mention."""
        event = channel_message(f"<@UBOT> {text}", **kw)
        await self.send({**event, "type": "app_mention"})
        await self.send(event)
        return event

    async def agent_session_stopped(
        self, channel: str, thread_ts: str, *, user: str = "U1", streams: tuple[str, ...] = ()
    ) -> int:
        """Press Slack's own Stop on a thread's agent session: Slack stops the `streams` it
        knows and sends `agent_session_stopped`."""
        for ts in streams:
            self.slack.stop_stream_as_user(channel, ts)
        event = {
            "type": "agent_session_stopped",
            "channel": channel,
            "thread_ts": thread_ts,
            "user": user,
            "streaming_message_ts": list(streams),
            "event_ts": next_ts(),
        }
        return await self.send(event)

    async def post_form(self, fields: dict[str, str]) -> tuple[int, str]:
        """Deliver a form-encoded request (slash command or interaction) signed like Slack."""
        body = urlencode(fields)
        headers = {**signed_headers(SECRET, body), "Content-Type": FORM}
        return await self.post_raw(body, headers)

    async def interact(self, payload: dict[str, Any]) -> tuple[int, str]:
        """Deliver an interactivity payload (`block_actions`, `view_submission`) as Slack does."""
        return await self.post_form({"payload": json.dumps(payload)})

    async def command(
        self, command: str, text: str = "", *, channel: str = "C1", user: str = "U1"
    ) -> tuple[int, str]:
        """Deliver a slash command as Slack does."""
        return await self.post_form(
            {
                "token": "verification-token",
                "team_id": "T1",
                "team_domain": "fake",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": user.lower(),
                "command": command,
                "text": text,
                "api_app_id": "A1",
                "response_url": "https://hooks.example/commands/1",
                "trigger_id": f"trig.{next_ts()}",
            }
        )

    async def wait_reply_done(
        self, channel: str, thread_ts: str, count: int = 1, *, timeout: float = 10
    ) -> list[dict]:
        """Wait until `count` bot replies in the thread are final (not the placeholder)."""

        def done() -> bool:
            bots = [m for m in self.slack.replies(channel, thread_ts) if m.get("bot_id")]
            return len(bots) >= count and self.finished(bots)

        await self.slack.wait_for(done, timeout=timeout)
        return [m for m in self.slack.replies(channel, thread_ts) if m.get("bot_id")]

    async def settle(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a deadline
        """Wait until every delivered event is handled and no turn is left running.

        Use it before asserting that something did *not* happen: a fixed sleep passes without
        checking anything when the bot is slow. Events are acknowledged before their listener
        runs (Bolt starts it as a task), and a listener may start a turn task; both are waited
        for, several quiet passes in a row, so work they schedule last is seen too.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet = 0
        while quiet < 3:
            busy = {t for t in asyncio.all_tasks() if not t.done() and _handles_an_event(t)}
            if not busy:
                quiet += 1
                await asyncio.sleep(0)
                continue
            quiet = 0
            if loop.time() >= deadline:
                names = sorted(t.get_name() for t in busy)
                raise AssertionError(f"still handling events after {timeout}s: {names}")
            await asyncio.wait(busy, timeout=0.05)

    def finished(self, bots: list[dict]) -> bool:
        assert self.runtime is not None and self.runtime.bot is not None
        return not any(not t.done() for t in self.runtime.bot.tasks)


def _handles_an_event(task: asyncio.Task[Any]) -> bool:
    """Tell whether `task` is a Bolt listener run, or a turn (or a note) the bot started."""
    if task.get_name().startswith("turn-"):  # BotApp.submit and the access gate name theirs so
        return True
    # Bolt acknowledges an event, then runs its listener in a task of this coroutine.
    return "run_ack_function_asynchronously" in getattr(task.get_coro(), "__qualname__", "")


def channel_message(
    text: str,
    *,
    channel: str = "C1",
    user: str = "U1",
    ts: str | None = None,
    thread_ts: str | None = None,
    channel_type: str = "channel",
) -> dict[str, Any]:
    """Build a `message` event as Slack sends it."""
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts or next_ts(),
        "channel_type": channel_type,
        "team": "T1",
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def dm(text: str, **kw: Any) -> dict[str, Any]:
    """Build a direct-message event."""
    kw.setdefault("channel", "D1")
    return channel_message(text, channel_type="im", **kw)


def text_of(message: dict[str, Any]) -> str:
    """Return the Markdown a fake-Slack message (or a call's args) shows, sent either way."""
    return markdown_of(message)


def dumps(obj: Any) -> str:
    return json.dumps(obj)
