"""The SQLite engine's pool: a connection goes back ready for the next user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from bot.db.engine import create_engine


def _insert_unfinished(sync_conn: Any) -> None:
    """Write through the driver directly: SQLAlchemy does not know a transaction is open."""
    cursor = sync_conn.connection.dbapi_connection.cursor()
    cursor.execute("INSERT INTO t VALUES (1)")
    cursor.close()


async def test_a_connection_returned_in_a_transaction_is_rolled_back(tmp_path: Path) -> None:
    # The pool skips its ROLLBACK on return (a thread hop for aiosqlite) unless the
    # connection is still in a transaction: one left open must not keep SQLite's write
    # lock, nor show its uncommitted row to whoever checks the connection out next.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/pool.db", pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        async with engine.connect() as conn:
            await conn.run_sync(_insert_unfinished)
        async with engine.connect() as conn:  # the same connection: the pool holds one
            rows = (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one()
        assert rows == 0
    finally:
        await engine.dispose()
