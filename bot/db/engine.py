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


# PostgreSQL: every transaction of the bot is a few statements long, so one left idle this
# long belongs to a process that froze mid-transaction (SIGSTOP, a VM pause, a swapped-out
# host); the server ends it and its row locks go with it. A statement waits for a lock at
# most LOCK_WAIT, then fails like an outage (per request), never hanging a handler for good.
IDLE_IN_TRANSACTION = "10s"
LOCK_WAIT = "20s"


def create_engine(
    url: str, *, foreign_keys: bool = True, bounded_waits: bool = True, **kwargs: Any
) -> AsyncEngine:
    """Create an async engine tuned for the bot's short, frequent transactions.

    SQLite enforces foreign keys (feedback goes with its answer) only when asked, per
    connection; migrations turn that off, since a batch table rebuild would cascade.
    PostgreSQL connections get the bounds above unless `bounded_waits` is off (migrations:
    one replica waits for another's migration, which may take longer).
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
    engine = create_async_engine(url, **kwargs)
    if bounded_waits:

        @event.listens_for(engine.sync_engine, "connect")
        def _bounds(dbapi_conn: Any, _record: Any) -> None:
            # SET on the raw connection (outside any transaction, so it lasts) rather than
            # startup parameters, which poolers such as PgBouncer refuse.
            dbapi_conn.run_async(
                lambda raw: raw.execute(
                    f"SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION}';"
                    f" SET lock_timeout = '{LOCK_WAIT}'"
                )
            )

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    """Return the session factory the store uses."""
    return async_sessionmaker(engine, expire_on_commit=False)
