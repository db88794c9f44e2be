"""The baseline: the simplest bot that works, to put every figure beside a ratio.

It verifies the signature, acks, posts a placeholder, then edits the message with the
whole text so far on every chunk the model sends (awaiting each edit), ignoring errors so
that one 429 does not end the answer. No database, no history, no throttle, no budget.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient


class NaiveBot:
    """Post, then chat.update on every chunk."""

    def __init__(self, *, slack_api_url: str, openai_base_url: str, signing_secret: str) -> None:
        self.client = AsyncWebClient(token="xoxb-bench", base_url=slack_api_url)
        self.openai = openai.AsyncOpenAI(api_key="sk-bench", base_url=openai_base_url)
        self.verifier = SignatureVerifier(signing_secret)
        self.tasks: set[asyncio.Task[None]] = set()
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/slack/events", self._events)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=10)
        if self._runner is not None:
            await self._runner.cleanup()
        await self.openai.close()

    async def _events(self, request: web.Request) -> web.Response:
        body = await request.text()
        if not self.verifier.is_valid_request(body, dict(request.headers)):
            return web.Response(status=401)
        event = json.loads(body).get("event") or {}
        if event.get("type") == "app_mention":
            task = asyncio.create_task(self._answer(event))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return web.Response(text="")

    async def _answer(self, event: dict[str, Any]) -> None:
        channel = event["channel"]
        posted = await self.client.chat_postMessage(
            channel=channel, thread_ts=event["ts"], text="_Thinking…_"
        )
        stream = await self.openai.chat.completions.create(
            model="fake-model",
            messages=[{"role": "user", "content": event.get("text") or ""}],
            stream=True,
        )
        text = ""
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
                try:
                    await self.client.chat_update(channel=channel, ts=posted["ts"], text=text)
                except SlackApiError:
                    pass
