"""A throwaway PostgreSQL database for one run (no bot import: a baseline's bot may differ)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """Create a throwaway PostgreSQL database; yield its URL; drop it."""
    import asyncpg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
