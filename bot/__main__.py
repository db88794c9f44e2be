"""Command line: `python -m bot run` serves Slack; `python -m bot migrate` only migrates."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot import aio
from bot.ops import doctor, maintenance
from bot.settings import Settings, SettingsError, load_settings
from bot.telemetry import logs
from bot.usage import export as usage_export

logger = logging.getLogger("bot")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The HTTP clients log request lines with headers at DEBUG; keep tokens out of logs.
    for noisy in ("httpx2", "httpx", "httpcore", "openai._base_client", "slack_sdk.web"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLogger().level))


async def _run(settings: Settings) -> int:
    from bot.runtime import Runtime

    logs.configure(
        settings.log_level,
        fmt=settings.log_format,
        secrets=(
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.openai_api_key,
            settings.slack_client_secret,
        ),
        allow_message_text=settings.log_message_text,
    )
    runtime = Runtime(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    running = aio.loop_name(loop)
    if running != settings.event_loop:
        logger.warning(
            "EVENT_LOOP=%s is not installed here: running on %s", settings.event_loop, running
        )
    logger.info("bot is ready (event loop: %s)", running)
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


def _console(thread: str | None) -> int:
    from bot.ops.console import console_settings, run_console

    settings = console_settings()
    # The terminal is for the chat: only warnings and errors go to stderr.
    logs.configure("WARNING", fmt="text", secrets=(settings.openai_api_key,))
    try:
        return asyncio.run(run_console(settings, thread=thread))
    except KeyboardInterrupt:
        return 130


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="apply migrations, then serve Slack (HTTP, or Socket Mode)")
    sub.add_parser("migrate", help="apply pending database migrations and exit")
    maintenance.add_parsers(sub)
    usage_export.add_parser(sub)
    sub.add_parser("rotate-tokens", help="re-encrypt stored tokens with the newest key")
    console = sub.add_parser(
        "console", help="chat with the bot in this terminal (no Slack needed; same pipeline)"
    )
    console.add_argument("--thread", help="continue an earlier console conversation")
    doctor.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            settings = load_settings()
            return aio.run(_run(settings), settings.event_loop)
        if args.command == "console":
            return _console(args.thread)
        if args.command == "doctor":
            from bot.ops.doctor.run import run as run_doctor

            logs.configure("WARNING", fmt="text")
            return asyncio.run(run_doctor(no_model=args.no_model))
        if args.command in ("purge", "export-user", "erase-user"):
            return maintenance.run(args)
        if args.command == "usage":
            return usage_export.run(args)
        if args.command == "rotate-tokens":
            from bot.ops import rotate_tokens

            return rotate_tokens.run()
        return _migrate()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
