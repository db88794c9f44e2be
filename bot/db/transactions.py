"""One short transaction per store call, and the base every part of the store shares."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import texts
from bot.db.engine import create_sessionmaker
from bot.errors import StorageUnavailable

logger = logging.getLogger(__name__)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Run one transaction; a database that cannot be reached raises StorageUnavailable."""
    try:
        async with sessions() as session, session.begin():
            yield session
    except IntegrityError:
        raise
    # OSError covers refused connections and connect timeouts; PoolTimeout a full pool.
    except (OperationalError, DBAPIError, OSError, PoolTimeout) as exc:
        logger.warning("database unavailable: %s", type(exc).__name__)
        raise StorageUnavailable(texts.STORAGE_DOWN, detail=type(exc).__name__) from exc


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
