"""Command line: `python -m bot run` serves Slack; `python -m bot migrate` only migrates."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.settings import SettingsError, load_settings

logger = logging.getLogger("bot")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The HTTP clients log request lines with headers at DEBUG; keep tokens out of logs.
    for noisy in ("httpx2", "httpx", "httpcore", "openai._base_client", "slack_sdk.web"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLogger().level))


async def _run() -> int:
    from bot.runtime import Runtime

    settings = load_settings()
    _configure_logging(settings.log_level)
    runtime = Runtime(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    logger.info("bot is ready")
    await stop.wait()
    logger.info("signal received; shutting down")
    await runtime.stop()
    logger.info("stopped")
    return 0


def _migrate() -> int:
    from bot.db.migrate import upgrade
    from bot.settings import DatabaseSettings

    settings = DatabaseSettings()
    _configure_logging(settings.log_level)
    upgrade(settings.database_url)
    print("database is up to date")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="apply migrations, then serve Slack (HTTP, or Socket Mode)")
    sub.add_parser("migrate", help="apply pending database migrations and exit")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return asyncio.run(_run())
        return _migrate()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
