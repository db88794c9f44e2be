"""Engine and session factory for SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine


def normalize_url(url: str) -> str:
    """Give plain `sqlite://` and `postgresql://` URLs their async driver."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str, *, foreign_keys: bool = True, **kwargs: Any) -> AsyncEngine:
    """Create an async engine tuned for the bot's short, frequent transactions.

    SQLite enforces foreign keys (feedback goes with its answer) only when asked, per
    connection; migrations turn that off, since a batch table rebuild would cascade.
    """
    url = normalize_url(url)
    if url.startswith("sqlite"):
        # The pool's usual reset is a ROLLBACK on every return, which aiosqlite makes a trip
        # to its thread and back even when the transaction has already ended (five per
        # answer): only a connection still in a transaction is rolled back (below).
        kwargs.setdefault("pool_reset_on_return", None)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "reset")
        def _end_open_transaction(dbapi_conn: Any, record: Any, state: Any) -> None:
            # SQLAlchemy ends the transactions of `begin()` blocks and of closed connections
            # itself; this catches anything else, which would hold SQLite's write lock.
            if state.asyncio_safe and record.driver_connection.in_transaction:
                dbapi_conn.rollback()

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers and the writer work at once across several bot processes.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_async_engine(url, **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    """Return the session factory the store uses."""
    return async_sessionmaker(engine, expire_on_commit=False)
