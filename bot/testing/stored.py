"""Read what the bot stored, straight from its database, for the resilience tests."""

from __future__ import annotations

import asyncio
import io
import json
import os
from contextlib import redirect_stderr, redirect_stdout
from unittest import mock

from sqlalchemy import select, text

from bot.db.engine import create_engine
from bot.db.models import Message
from bot.slack.reply.split import code_spans
from bot.testing.harness import Harness


async def stored_replies(bot: Harness) -> list[Message]:
    """Return the assistant messages the bot stored, oldest first."""
    engine = create_engine(bot.database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Message).where(Message.role == "assistant").order_by(Message.id)
            )
            return list(rows.all())  # type: ignore[arg-type]
    finally:
        await engine.dispose()


def reassemble(parts: list[str], answer: str) -> list[str]:
    """Undo the fences the splitter added, checking that each one closes a block cut mid-way."""
    spans = code_spans(answer)
    raw: list[str] = []
    pos, reopened = 0, False
    for part in parts:
        if reopened:
            opener, part = part.split("\n", 1)
            assert opener.lstrip().startswith(("```", "~~~")), opener
        if not answer.startswith(part, pos):
            body, _, fence = part.rstrip("\n").rpartition("\n")
            assert fence.strip("`~") == "", f"part {len(raw)} does not continue the answer"
            part = body + "\n"
            assert answer.startswith(part, pos), f"part {len(raw)} does not continue the answer"
            end = pos + len(part)
            assert any(s.start < end < s.end for s in spans), "a fence was added outside code"
            reopened = True
        else:
            reopened = False
        raw.append(part)
        pos += len(part)
    assert pos == len(answer), "the answer was not shown to its end"
    return raw


async def sql(url: str, statement: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(statement))
            return [tuple(r) for r in result.fetchall()] if result.returns_rows else []
    finally:
        await engine.dispose()


async def age_everything(url: str, days: int) -> None:
    if url.startswith("sqlite"):
        when = f"datetime('now', '-{days} days')"
    else:
        when = f"now() - interval '{days} days'"
    await sql(url, f"UPDATE messages SET created_at = {when}")
    await sql(url, f"UPDATE claims SET claimed_at = {when}")


async def cli(*args: str, url: str) -> tuple[int, dict]:
    """Run `python -m bot ARGS` in-process (its own event loop, in a thread); parse its JSON."""
    from bot.__main__ import main

    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        with (
            mock.patch.dict(os.environ, {"DATABASE_URL": url}),
            redirect_stdout(out),
            redirect_stderr(err),
        ):
            os.environ.pop("RETENTION_DAYS", None)
            return main(list(args))

    code = await asyncio.to_thread(run)
    text = out.getvalue().strip()
    return code, (json.loads(text) if text else {"stderr": err.getvalue()})
