"""Apply alembic migrations shipped inside the package (as `bot.migrations`)."""

from __future__ import annotations

import asyncio
from importlib import resources

from alembic import command
from alembic.config import Config

from bot.db.engine import normalize_url


def alembic_config(database_url: str) -> Config:
    """Build an alembic Config that finds the migrations however the bot was installed."""
    script_location = resources.files("bot.migrations")
    config = Config()
    config.set_main_option("script_location", str(script_location))
    # ConfigParser treats % as interpolation; URLs may contain %-escapes.
    config.set_main_option("sqlalchemy.url", normalize_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database schema up to `revision` (blocking; env.py runs its own loop)."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """Run `upgrade` from inside a running event loop."""
    await asyncio.to_thread(upgrade, database_url, revision)
