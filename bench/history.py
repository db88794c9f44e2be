"""History load for a long thread: the bot's path (Store.history + to_chat + history.fit).

The naive baseline reads the whole thread and fits it in Python. The query the store really
runs is captured from the engine and shown with EXPLAIN (ANALYZE) / EXPLAIN QUERY PLAN.
"""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import event, insert, select

from bench.model import make_answer
from bench.stats import median, percentile
from bot.db.engine import create_engine
from bot.db.migrate import upgrade_async
from bot.db.models import Message
from bot.db.records import ThreadKey
from bot.db.store import Store
from bot.llm import history
from bot.settings import DEFAULT_SYSTEM_PROMPT
from bot.turns.chat_history import to_chat
from bot.turns.request import TurnConfig

KEY = ThreadKey("T1", "CHIST", "1700000000.000001")


def _rows(n: int, key: ThreadKey, start: int) -> list[dict[str, Any]]:
    return [
        {
            "team_id": key.team_id,
            "channel_id": key.channel_id,
            "thread_ts": key.thread_ts,
            "role": "user" if i % 2 == 0 else "assistant",
            "content": make_answer(300, start + i),
            "user_id": "U1" if i % 2 == 0 else None,
            "status": "complete",
        }
        for i in range(n)
    ]


async def _timed(repeats: int, load: Any) -> tuple[list[float], int, int]:
    times, read, kept = [], 0, 0
    for _ in range(repeats):
        t = time.perf_counter()
        read, kept = await load()
        times.append(time.perf_counter() - t)
    return times, read, kept


async def run(url: str, *, messages: int, others: int, repeats: int) -> dict[str, Any]:
    """Seed a thread of `messages` (plus `others` elsewhere) and time loading its history."""
    await upgrade_async(url)
    engine = create_engine(url)
    store, config = Store(engine), TurnConfig(system_prompt=DEFAULT_SYSTEM_PROMPT)
    try:
        async with engine.begin() as conn:
            rows = _rows(messages, KEY, 0)
            for n in range(others):  # interleave other threads so the index has work to do
                rows.insert(
                    n * len(rows) // max(1, others),
                    _rows(1, ThreadKey("T1", "CHIST", f"1700000001.{n % 50:06d}"), n)[0],
                )
            for i in range(0, len(rows), 2000):
                await conn.execute(insert(Message), rows[i : i + 2000])

        async def bot_load() -> tuple[int, int]:
            stored = await store.history(KEY, limit=config.history_rows)
            chat = [to_chat(m) for m in stored]
            return len(stored), len(
                history.fit(DEFAULT_SYSTEM_PROMPT, chat, config.history_budget)
            ) - 1

        async def naive_load() -> tuple[int, int]:
            async with engine.connect() as conn:
                result = await conn.execute(
                    select(Message)
                    .where(
                        Message.team_id == KEY.team_id,
                        Message.channel_id == KEY.channel_id,
                        Message.thread_ts == KEY.thread_ts,
                    )
                    .order_by(Message.id)
                )
                chat = [{"role": r.role, "content": r.content} for r in result]
            return len(chat), len(
                history.fit(DEFAULT_SYSTEM_PROMPT, chat, config.history_budget)
            ) - 1

        captured: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
            if "FROM messages" in statement and "LIMIT" in statement.upper():
                captured.append((statement, params))

        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        await bot_load()  # warm the pool and the caches; capture the real query
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
        bot_times, read, kept = await _timed(repeats, bot_load)
        naive_times, naive_read, _ = await _timed(max(3, repeats // 5), naive_load)
        plan = await _explain(engine, *captured[-1]) if captured else "(query not captured)"
    finally:
        await engine.dispose()
    rows_read = read
    if match := re.search(r"Index Scan[^\n]*actual time=[\d.]+\.\.[\d.]+ rows=(\d+)", plan):
        rows_read = int(match.group(1))
    return {
        "p50": median(bot_times),
        "p95": percentile(bot_times, 95),
        "rows_returned": read,
        "rows_read": rows_read,
        "rows_kept": kept,
        "naive_p50": median(naive_times),
        "naive_p95": percentile(naive_times, 95),
        "naive_rows": naive_read,
        "plan": plan,
        "messages": messages,
        "others": others,
    }


async def _explain(engine: Any, statement: str, params: Any) -> str:
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql(prefix + statement, params)
        lines = [" | ".join(str(v) for v in row) if not postgres else str(row[0]) for row in result]
    return f"{statement.strip()}\n-- parameters: {params}\n" + "\n".join(lines)
