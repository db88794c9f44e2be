"""The database of a process: migrations, the engines, the store and this replica's heartbeat."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from bot.db.migrate import upgrade_async
from bot.db.replicas import ReplicaRegistry, default_replica_id
from bot.db.resumable import Resumable
from bot.db.store import Store
from bot.settings import Settings
from bot.slack.sessions import AgentSessions
from bot.slack.writer import SlackWriter
from bot.turns.recovery import Resume, recover

logger = logging.getLogger(__name__)


def turns_pool(url: str) -> dict[str, Any]:
    """Return pool arguments for the engine turns use: on SQLite, one connection.

    SQLite has one writer at a time. With a connection per concurrent transaction, the
    writers of this process wait for each other in SQLite's busy handler, which sleeps 1, 2,
    5, 10... ms between tries whatever happens meanwhile; with one connection they queue in
    the pool instead and each goes the moment the one before ends. 100 questions at once:
    event → placeholder p95 407-922 ms with the default pool (5 + 10 overflow), 223-254 ms
    with one connection, and a tenth less CPU (bench/FINDINGS.md). Every store call is one
    short transaction that awaits nothing but its statements, so none waits long.
    """
    parsed = make_url(url)
    in_memory = parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory"
    if parsed.get_backend_name() == "sqlite" and not in_memory:
        return {"pool_size": 1, "max_overflow": 0}
    return {}  # PostgreSQL's writers lock rows, not the database; in-memory: a static pool


def heartbeat_pool(url: str) -> dict[str, Any]:
    """Return pool arguments for the heartbeat engine: one connection, never shared."""
    if url.startswith("sqlite"):
        return {}  # a file: every connection is local and cheap
    return {"pool_size": 1, "max_overflow": 1}


@dataclass
class Database:
    """Own the engines, the store and the replica registry; end what crashed processes left."""

    settings: Settings
    engine: AsyncEngine
    heartbeat_engine: AsyncEngine
    store: Store
    replicas: ReplicaRegistry
    resume: Resume | None = None  # starts resuming a left reply (the app's), once built
    # Called after each recovery (with `startup`): carries on answers that waited for
    # approval in a process that is gone (`bot.turns.resume`).
    after_recover: Callable[[bool], Awaitable[None]] | None = None

    @classmethod
    async def open(cls, s: Settings) -> Database:
        """Migrate to head and open the engines."""
        await upgrade_async(s.database_url)
        engine = create_engine(s.database_url, **turns_pool(s.database_url))
        replica_id = s.replica_id or default_replica_id(s.port)
        # Heartbeats get a connection of their own: turns that exhaust the pool must not
        # make this replica look dead to the others (which would take its replies over).
        heartbeat_engine = create_engine(s.database_url, **heartbeat_pool(s.database_url))
        replicas = ReplicaRegistry(heartbeat_engine, replica_id, stale_after=s.replica_stale_after)
        return cls(s, engine, heartbeat_engine, Store(engine, owner=replica_id), replicas)

    async def recover(
        self, writer: SlackWriter, *, startup: bool = False, sessions: AgentSessions | None = None
    ) -> None:
        """End replies and claimed messages a crashed process left, in Slack and the DB."""
        await recover(
            self.replicas,
            self.store,
            writer,
            limit=self.settings.slack_message_max_chars,
            startup=startup,
            resume=self.resume,
            resumable=Resumable(self.engine),
            max_age=self.settings.resume_max_age,
            sessions=sessions,
        )
        if self.after_recover is not None:
            await self.after_recover(startup)

    async def watch_replicas(
        self, writer: SlackWriter, sessions: AgentSessions | None = None
    ) -> None:
        """Beat for this replica and take over replies of replicas that stopped beating."""
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval)
            try:
                await self.replicas.beat()
                await self.recover(writer, sessions=sessions)
            except Exception as exc:  # noqa: BLE001 - the next beat tries again
                logger.warning("replica heartbeat failed (%s)", type(exc).__name__)

    async def close(self) -> None:
        """Leave the registry and close the engines."""
        try:
            await self.replicas.leave()
        except Exception as exc:  # noqa: BLE001 - others notice the silence instead
            logger.warning("could not deregister this replica (%s)", type(exc).__name__)
        await self.engine.dispose()
        await self.heartbeat_engine.dispose()
