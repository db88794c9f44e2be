"""Run the terminal console as a real process against the fake model."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.testing.openai import FakeOpenAI


async def run_console(llm: FakeOpenAI, db: Path, stdin: str, *args: str) -> tuple[int, str, str]:
    """Run `python -m bot console` against the fake model; return its exit code, stdout, stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    env.update(
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_MODEL="fake-model",
        DATABASE_URL=f"sqlite+aiosqlite:///{db}",
        SLACK_UPDATE_INTERVAL="0.05",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "console",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=db.parent,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    return proc.returncode or 0, out.decode(), err.decode()
