"""Run every check in order, print each as it completes, exit non-zero if any failed."""

from __future__ import annotations

import sys
from typing import TextIO

import aiohttp

from bot.ops.doctor.infra_checks import check_database, check_mcp, check_redis
from bot.ops.doctor.model_checks import check_model
from bot.ops.doctor.report import Printer, failed, ok, skipped
from bot.ops.doctor.slack_checks import check_slack
from bot.settings import Settings, SettingsError, load_settings
from bot.telemetry.logs import RedactSecrets


async def run(*, no_model: bool = False, out: TextIO | None = None) -> int:
    """Check everything the settings name; return 0 when nothing failed, else 1."""
    printer = Printer(out or sys.stdout)
    try:
        settings = load_settings()
    except SettingsError as exc:
        printer.show(failed("Settings", str(exc), "set them in the environment or in .env"))
        return 1
    printer.mask = RedactSecrets(
        (
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.openai_api_key,
            settings.slack_client_secret,
        )
    ).mask
    printer.show(ok("Settings", _mode(settings)))
    async with aiohttp.ClientSession() as session:
        for check in await check_slack(settings, session):
            printer.show(check)
        if no_model:
            printer.show(skipped("Model server", "--no-model"))
        else:
            tools = bool(settings.builtin_tools or settings.tool_modules or settings.mcp_servers)
            for check in await check_model(settings, session, tools_enabled=tools):
                printer.show(check)
    printer.show(await check_database(settings))
    printer.show(await check_redis(settings))
    for check in await check_mcp(settings):
        printer.show(check)
    return 1 if printer.failures else 0


def _mode(settings: Settings) -> str:
    events = "Socket Mode" if settings.socket_mode else "HTTP mode"
    installs = "OAuth installs" if settings.oauth else "one workspace"
    return f"{events}, {installs}, model {settings.openai_model}"
