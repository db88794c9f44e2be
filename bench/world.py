"""The other process: fake Slack, fake model, the event driver and a tiny control API.

The bot's process only runs the bot (and polls /status a few times a second), so its CPU
time and memory are the bot's. Questions are sent from here as signed Events API requests;
the send time, every Slack call and every model chunk are stamped here with time.monotonic().
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from multiprocessing.connection import Connection

import aiohttp
from aiohttp import web

from bench.model import BenchOpenAI, Plan, make_answer
from bench.scenarios import SECRET
from bench.tracker import ReplyTrack, Tracker, reply_metrics
from bot.testing.signing import event_body, signed_headers
from bot.testing.slack import FakeSlack

_counter = itertools.count(1)


class World:
    """Own the fakes of one scenario and drive questions into a bot."""

    def __init__(self) -> None:
        self.slack: FakeSlack | None = None
        self.llm: BenchOpenAI | None = None
        self.tracker = Tracker()
        self.batch: list[str] = []
        self.http: aiohttp.ClientSession | None = None
        self.stopped = asyncio.Event()

    def routes(self) -> web.Application:
        app = web.Application()
        for name in ("setup", "plan", "fire", "clear", "shutdown"):
            app.router.add_post(f"/{name}", getattr(self, name))
        app.router.add_get("/status", self.status)
        app.router.add_get("/report", self.report)
        return app

    async def setup(self, request: web.Request) -> web.Response:
        """Start fresh fakes; body: {"rate_limits": {method: [per_minute, burst]}}."""
        body = await request.json()
        await self._stop_fakes()
        self.slack, self.llm = FakeSlack(), BenchOpenAI()
        for method, (per_minute, burst) in (body.get("rate_limits") or {}).items():
            self.slack.set_rate_limit(method, per_minute, burst)
        await self.slack.start()
        await self.llm.start()
        self.tracker, self.batch = Tracker(), []
        return web.json_response(
            {"slack_api_url": self.slack.api_url, "openai_base_url": self.llm.base_url}
        )

    async def clear(self, request: web.Request) -> web.Response:
        """Forget what was recorded so far (after a warm-up); Slack's buckets start full."""
        assert self.slack is not None and self.llm is not None
        for method, bucket in list(self.slack._buckets.items()):
            self.slack.set_rate_limit(method, bucket.rate * 60.0, bucket.burst)
        self.slack.calls.clear()
        self.slack.rate_limited = 0
        self.llm.logs.clear()
        self.tracker, self.batch = Tracker(), []
        return web.json_response({"ok": True})

    async def plan(self, request: web.Request) -> web.Response:
        """Register answers without sending events; body: {replies: [...]}; returns the tags."""
        body = await request.json()
        assert self.llm is not None
        tags = []
        for spec in body["replies"]:
            n = next(_counter)
            tags.append(f"r{n}")
            self.llm.plans[tags[-1]] = Plan(
                make_answer(int(spec["chars"]), n), int(spec["pieces"]), float(spec["delay"]), 0.0
            )
        return web.json_response({"tags": tags})

    async def fire(self, request: web.Request) -> web.Response:
        """Send questions; body: {bot_url, replies: [{chars, pieces, delay, first_delay}], spacing,
        team}."""
        body = await request.json()
        team = str(body.get("team") or "T1")
        assert self.llm is not None
        if self.http is None:
            self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        url, spacing = body["bot_url"].rstrip("/") + "/slack/events", float(body.get("spacing", 0))
        start = time.monotonic()
        sends = []
        for i, spec in enumerate(body["replies"]):
            n = next(_counter)
            tag, ts, channel = f"r{n}", f"1600000000.{n:06d}", f"C{n % 97:04d}"
            answer = make_answer(int(spec["chars"]), n)
            self.llm.plans[tag] = Plan(
                answer, int(spec["pieces"]), float(spec["delay"]), float(spec.get("first_delay", 0))
            )
            self.batch.append(tag)
            sends.append(self._send(url, tag, channel, ts, answer, start + i * spacing, team))
        statuses = await asyncio.gather(*sends)
        return web.json_response({"tags": self.batch, "statuses": statuses})

    async def _send(
        self, url: str, tag: str, channel: str, ts: str, answer: str, at: float, team: str
    ) -> list[int]:
        """Send the app_mention + message pair Slack sends for a channel mention."""
        assert self.http is not None
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        event = {
            "type": "message",
            "channel": channel,
            "user": "U1",
            "ts": ts,
            "team": team,
            "text": f"<@UBOT> q:{tag} please explain",
            "channel_type": "channel",
        }
        self.tracker.expect(ReplyTrack(tag, channel, ts, answer, sent_at=time.monotonic()))
        statuses = []
        for kind in ("app_mention", "message"):
            payload = event_body({**event, "type": kind}, team_id=team)
            async with self.http.post(
                url, data=payload, headers=signed_headers(SECRET, payload)
            ) as r:
                statuses.append(r.status)
        return statuses

    def _catch_up(self) -> None:
        assert self.slack is not None
        self.tracker.consume(self.slack.calls)

    async def status(self, request: web.Request) -> web.Response:
        """Say how many replies of the batch are whole and how many model streams ended."""
        self._catch_up()
        assert self.llm is not None
        whole = sum(1 for tag in self.batch if self.tracker.replies[tag].whole)
        done = sum(1 for tag in self.batch if (log := self.llm.logs.get(tag)) and log.done)
        return web.json_response({"n": len(self.batch), "whole": whole, "streams_done": done})

    async def report(self, request: web.Request) -> web.Response:
        """Return per-reply metrics of the batch and the totals Slack saw."""
        self._catch_up()
        assert self.slack is not None and self.llm is not None
        replies = [
            reply_metrics(self.tracker.replies[tag], self.llm.logs.get(tag)) for tag in self.batch
        ]
        methods: dict[str, int] = {}
        for call in self.slack.calls:
            methods[call.method] = methods.get(call.method, 0) + 1
        return web.json_response(
            {
                "replies": replies,
                "slack_calls": len(self.slack.calls),
                "slack_methods": methods,
                "rate_limited": self.slack.rate_limited,
                "other_calls": self.tracker.other_calls,
            }
        )

    async def shutdown(self, request: web.Request) -> web.Response:
        self.stopped.set()
        return web.json_response({"ok": True})

    async def _stop_fakes(self) -> None:
        for fake in (self.slack, self.llm):
            if fake is not None:
                await fake.stop()


async def _main(conn: Connection) -> None:
    world = World()
    runner = web.AppRunner(world.routes(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    conn.send(json.dumps({"port": runner.addresses[0][1]}))
    await world.stopped.wait()
    await asyncio.sleep(0.05)  # let the shutdown answer go out
    if world.http is not None:
        await world.http.close()
    await world._stop_fakes()
    await runner.cleanup()


def serve(conn: Connection) -> None:
    """Run the fakes' process until /shutdown (multiprocessing target)."""
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_main(conn))
