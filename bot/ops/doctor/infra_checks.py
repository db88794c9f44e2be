"""The database and its migrations, Redis, and each MCP server."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import redis.asyncio as aioredis
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from bot.db.engine import create_engine, normalize_url
from bot.db.migrate import alembic_config
from bot.ops.doctor.report import Check, failed, ok, skipped
from bot.settings import Settings
from bot.tools.mcp import config as mcp_config
from bot.tools.mcp.session import ServerLink

MCP_WAIT = 30.0


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(normalize_url(url))
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return None
    return Path(parsed.database) if parsed.database != ":memory:" else None


async def check_database(settings: Settings) -> Check:
    """Connect, and compare the schema's revision with the newest migration."""
    url = settings.database_url
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        folder = path.parent if str(path.parent) else Path(".")
        if not os.access(folder, os.W_OK):
            return failed(
                "Database", f"cannot create {path}", "set DATABASE_URL to a writable place"
            )
        return ok("Database", f"{path} does not exist yet; `run` creates and migrates it")
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    except Exception as exc:  # noqa: BLE001 - any driver error is the finding
        safe = make_url(normalize_url(url)).render_as_string(hide_password=True)
        return failed(
            "Database",
            f"cannot connect to {safe} ({type(exc).__name__})",
            "start the database or fix DATABASE_URL",
        )
    finally:
        await engine.dispose()
    if current == head:
        return ok("Database", f"reachable, migrations at head ({head})")
    if current is None:
        return ok("Database", "reachable and empty; `run` applies the migrations")
    known = {
        rev.revision for rev in ScriptDirectory.from_config(alembic_config(url)).walk_revisions()
    }
    if current not in known:
        return failed(
            "Database",
            f"the schema is at {current}, which this version of the bot does not know",
            "run the bot version that migrated this database, or point DATABASE_URL elsewhere",
        )
    return failed(
        "Database", f"migrations at {current}, head is {head}", "run `python -m bot migrate`"
    )


async def check_redis(settings: Settings) -> Check:
    """Ping Redis when REDIS_URL is set."""
    if not settings.redis_url:
        return skipped("Redis", "REDIS_URL is not set (one replica)")
    client = aioredis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - any client error is the finding
        return failed(
            "Redis",
            f"not reachable ({type(exc).__name__})",
            "start Redis or fix REDIS_URL (replicas share the edit budget and locks there)",
        )
    finally:
        await client.aclose()
    return ok("Redis", "reachable")


async def check_mcp(settings: Settings) -> list[Check]:
    """Start each MCP server once and list its tools."""
    if not settings.mcp_servers:
        return [skipped("MCP servers", "MCP_SERVERS is not set")]
    try:
        servers = mcp_config.load(settings.mcp_servers)
    except mcp_config.McpConfigError as exc:
        return [failed("MCP servers", str(exc), "fix the file MCP_SERVERS names")]
    return list(await asyncio.gather(*(_mcp_server(config) for config in servers)))


async def _mcp_server(config: mcp_config.ServerConfig) -> Check:
    name = f"MCP server {config.name}"
    link = ServerLink(config, start_timeout=MCP_WAIT, backoff=(MCP_WAIT,))
    task = asyncio.create_task(link.run())
    try:
        async with asyncio.timeout(MCP_WAIT + 5):
            await link.tried.wait()
        up, tools = link.up, [tool.name for tool in link.tools]
    except TimeoutError:
        up, tools = False, []
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    if not up:
        return failed(
            name,
            f"did not start ({link.last_error or 'no answer'})",
            "check its command or URL in the MCP_SERVERS file; run the command by hand",
        )
    return ok(name, f"{len(tools)} tools: {', '.join(tools[:10])}")
