"""One short transaction per store call, and the base every part of the store shares."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot import texts
from bot.db.engine import create_sessionmaker
from bot.errors import StorageUnavailable

logger = logging.getLogger(__name__)


@asynccontextmanager
async def _unavailable_as_ours() -> AsyncIterator[None]:
    """Raise StorageUnavailable for a database that cannot be reached (IntegrityError passes)."""
    try:
        yield
    except IntegrityError:
        raise
    # OSError covers refused connections and connect timeouts; PoolTimeout a full pool.
    except (OperationalError, DBAPIError, OSError, PoolTimeout) as exc:
        logger.warning("database unavailable: %s", type(exc).__name__)
        raise StorageUnavailable(texts.STORAGE_DOWN, detail=type(exc).__name__) from exc


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Run one transaction in an ORM session; an unreachable database: StorageUnavailable."""
    async with _unavailable_as_ours(), sessions() as session, session.begin():
        yield session


@asynccontextmanager
async def core_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """Run one transaction of plain statements (no unit of work: the hot paths' choice)."""
    async with _unavailable_as_ours(), engine.begin() as connection:
        yield connection


class StorePart:
    """What each part of the store works with: the engine, its sessions and this replica."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker | None = None,
        *,
        owner: str | None = None,
    ) -> None:
        self.engine = engine
        self.owner = owner  # this replica's id, stamped on the replies it streams
        self._sessions = sessions or create_sessionmaker(engine)

    def _tx(self) -> AbstractAsyncContextManager[AsyncSession]:
        return transaction(self._sessions)

    def _core(self) -> AbstractAsyncContextManager[AsyncConnection]:
        # Every answer's reads and writes use plain statements: a session's unit of work
        # and identity map cost more than the statements themselves (bench/FINDINGS.md).
        return core_transaction(self.engine)
