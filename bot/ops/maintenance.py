"""Maintenance commands on the stored history: purge, export-user, erase-user."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from bot.db.engine import create_engine
from bot.db.privacy import Privacy
from bot.ops import retention
from bot.settings import DatabaseSettings, SettingsError


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare the commands and their arguments."""
    purge = sub.add_parser("purge", help="delete stored messages older than RETENTION_DAYS")
    purge.add_argument("--days", type=float, help="override RETENTION_DAYS")
    for name, what in (("export-user", "print"), ("erase-user", "delete")):
        cmd = sub.add_parser(name, help=f"{what} one user's stored messages (JSON on stdout)")
        cmd.add_argument("user_id", help="Slack user id, e.g. U0123ABCD")
        cmd.add_argument("--team", help="only in this workspace (team id)")


def run(args: argparse.Namespace) -> int:
    """Run one of the commands declared by `add_parsers`."""
    settings = DatabaseSettings()
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: DatabaseSettings) -> int:
    engine = create_engine(settings.database_url)
    privacy = Privacy(engine)
    try:
        if args.command == "purge":
            days = args.days or settings.retention_days
            if not days:
                raise SettingsError("RETENTION_DAYS is not set (or pass --days N)")
            removed = await retention.purge_once(privacy, days)
            print(json.dumps({"deleted": removed, "older_than_days": days}))
        elif args.command == "export-user":
            rows = await privacy.export_user(args.user_id, args.team)
            usage = await privacy.export_user_usage(args.user_id, args.team)
            exported = {"user_id": args.user_id, "messages": rows, "usage": usage}
            json.dump(exported, sys.stdout, ensure_ascii=False)
            print()
        else:
            removed = await privacy.erase_user(args.user_id, args.team)
            print(json.dumps({"user_id": args.user_id, "deleted": removed}))
    finally:
        await engine.dispose()
    return 0
