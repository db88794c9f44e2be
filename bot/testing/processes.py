"""Run `python -m bot run` as a real subprocess against the fakes, and read what it stored."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.testing.harness import SECRET
from bot.testing.openai import FakeOpenAI
from bot.testing.ports import free_port, wait_until_ready
from bot.testing.signing import event_body, signed_headers
from bot.testing.slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    """One `python -m bot run` subprocess and the HTTP port it serves."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.port = int(env.get("PORT") or free_port())
        self.proc: asyncio.subprocess.Process | None = None
        self.log = cwd / f"bot-{len(list(cwd.glob('bot-*.log')))}.log"

    async def start(self) -> None:
        env = {**self.env, "PORT": str(self.port)}
        with self.log.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, cwd=self.cwd, stdout=log, stderr=log
            )
        proc = self.proc
        await wait_until_ready(
            f"http://127.0.0.1:{self.port}/healthz",
            alive=lambda: proc.returncode is None,
            describe=self.log.read_text,
        )

    async def send(self, event: dict[str, Any]) -> None:
        body = event_body(event)
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{self.port}/slack/events"
            async with http.post(url, data=body, headers=signed_headers(SECRET, body)) as r:
                assert r.status == 200

    async def signal(self, sig: int) -> int:
        """Send `sig` and return the exit code (the process must exit within 15 s)."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), 15)

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@pytest.fixture
async def launch(slack: FakeSlack, llm: FakeOpenAI, tmp_path: Path) -> AsyncIterator[Any]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_MODEL": "fake-model",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "HOST": "127.0.0.1",
        "SLACK_UPDATE_INTERVAL": "0.2",
        "LOG_LEVEL": "INFO",
    }
    started: list[BotProcess] = []

    @asynccontextmanager
    async def run(**extra: str) -> AsyncIterator[BotProcess]:
        bot = BotProcess({**env, **extra}, tmp_path)
        started.append(bot)
        await bot.start()
        yield bot

    yield run
    for bot in started:
        await bot.kill()


def diagnose(slack: FakeSlack, bot: BotProcess) -> str:
    """Describe what Slack received and what the bot logged, for a failure message."""
    calls = "\n".join(
        f"{c.at:.2f} {c.method} {c.status} {str(c.args.get('markdown_text'))[-50:]!r}"
        for c in slack.calls
    )
    return f"slack calls:\n{calls}\nbot log:\n{bot.log.read_text()[-4000:]}"


def stored_by_channel(tmp_path: Path) -> list[tuple[str, tuple[str, str]]]:
    with sqlite3.connect(tmp_path / "bot.db") as db:
        rows = db.execute(
            "SELECT channel_id, content, status FROM messages WHERE role = 'assistant'"
        ).fetchall()
    return [(str(channel), (str(content), str(status))) for channel, content, status in rows]


def saved_parts(tmp_path: Path, channel: str) -> list[list]:
    with sqlite3.connect(tmp_path / "bot.db") as db:
        [(parts,)] = db.execute(
            "SELECT parts FROM messages WHERE role = 'assistant' AND channel_id = ?", (channel,)
        ).fetchall()
    return json.loads(parts)


def stored(tmp_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "bot.db") as db:
        rows = db.execute(
            "SELECT content, status FROM messages WHERE role = 'assistant' ORDER BY id"
        ).fetchall()
    return [(str(content), str(status)) for content, status in rows]
