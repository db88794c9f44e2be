"""The PostgreSQL server the suite runs on, when one is reachable."""

from __future__ import annotations

import asyncio
import os

PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def pg_exec(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN.replace("postgresql+asyncpg", "postgresql"), timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pg_available() -> bool:
    try:
        asyncio.run(pg_exec("SELECT 1"))
    except Exception:
        return False
    return True
