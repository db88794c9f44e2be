"""Slack: the bot token, the scopes it was granted, and the way events arrive."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.ops.doctor.report import Check, failed, ok, skipped
from bot.ops.doctor.scopes import OPTIONAL, needed_scopes
from bot.settings import Settings

REINSTALL = "add them under OAuth & Permissions → Scopes (or use app_manifest.yml), then reinstall"


def _token_kind(token: str) -> str:
    return {"xoxb": "bot token", "xoxp": "user token", "xapp": "app-level token"}.get(
        token.split("-", 1)[0], "unknown kind"
    )


def _slack_error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "error"))
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def check_slack(settings: Settings, session: aiohttp.ClientSession) -> list[Check]:
    """Check the bot token with auth.test, its scopes, and Socket Mode or HTTP mode."""
    checks: list[Check] = []
    if not settings.slack_bot_token:
        checks.append(skipped("Slack bot token", "OAuth installs: each workspace has its own"))
        checks.append(skipped("Slack scopes", "checked per workspace at install time"))
    else:
        checks.extend(await _auth(settings, session))
    checks.append(await _events(settings, session))
    return checks


async def _auth(settings: Settings, session: aiohttp.ClientSession) -> list[Check]:
    token = settings.slack_bot_token
    kind = _token_kind(token)
    if kind != "bot token":
        return [
            failed(
                "Slack auth.test",
                f"SLACK_BOT_TOKEN is a {kind}",
                "use the Bot User OAuth Token (xoxb-...) from OAuth & Permissions",
            ),
            skipped("Slack scopes", "needs a working bot token"),
        ]
    client = AsyncWebClient(token=token, base_url=settings.slack_api_url, session=session)
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        fix = (
            "SLACK_BOT_TOKEN is not a valid token of this app: copy it again from OAuth & "
            "Permissions (reinstalling the app changes it)"
            if _slack_error(exc)
            in ("invalid_auth", "not_authed", "account_inactive", "token_revoked")
            else "see https://api.slack.com/methods/auth.test for this error"
        )
        return [
            failed("Slack auth.test", _slack_error(exc), fix),
            skipped("Slack scopes", "needs a working bot token"),
        ]
    except (aiohttp.ClientError, TimeoutError) as exc:
        return [
            failed(
                "Slack auth.test",
                f"Slack is not reachable at {settings.slack_api_url} ({_slack_error(exc)})",
                "check the network (and SLACK_API_URL if you set it)",
            ),
            skipped("Slack scopes", "needs a working bot token"),
        ]
    detail = (
        f"{kind}, workspace {response.get('team')} ({response.get('team_id')}), "
        f"bot user {response.get('user')} ({response.get('user_id')})"
    )
    return [ok("Slack auth.test", detail), _scopes(settings, response.headers)]


def _scopes(settings: Settings, headers: dict[str, str]) -> Check:
    raw = next((v for k, v in headers.items() if k.lower() == "x-oauth-scopes"), None)
    if raw is None:
        return skipped("Slack scopes", "Slack did not say which scopes were granted")
    granted = {scope.strip() for scope in raw.split(",") if scope.strip()}
    needed = needed_scopes(settings)
    missing = sorted(set(needed) - granted)
    if missing:
        why = "; ".join(f"{scope} ({needed[scope]})" for scope in missing)
        return failed("Slack scopes", f"missing {why}", REINSTALL)
    optional = sorted(set(OPTIONAL) - granted)
    note = (
        f"; not granted, so search_slack cannot use them: {', '.join(optional)}" if optional else ""
    )
    return ok("Slack scopes", f"all {len(needed)} needed scopes granted{note}")


async def _events(settings: Settings, session: aiohttp.ClientSession) -> Check:
    if not settings.socket_mode:
        # load_settings() already refused HTTP mode without a signing secret.
        return ok(
            "HTTP mode", "SLACK_SIGNING_SECRET is set (not shown); events reach /slack/events"
        )
    token = settings.slack_app_token or ""
    if _token_kind(token) != "app-level token":
        return failed(
            "Socket Mode",
            f"SLACK_APP_TOKEN is a {_token_kind(token)}",
            "create an app-level token (xapp-...) with connections:write under Basic "
            "Information → App-Level Tokens",
        )
    client = AsyncWebClient(base_url=settings.slack_api_url, session=session)
    try:
        await client.apps_connections_open(app_token=token)
    except SlackApiError as exc:
        error = _slack_error(exc)
        fix = (
            "give the app-level token the connections:write scope (Basic Information → "
            "App-Level Tokens), and turn Socket Mode on"
            if error in ("missing_scope", "not_allowed_token_type", "invalid_auth")
            else "see https://api.slack.com/methods/apps.connections.open for this error"
        )
        return failed("Socket Mode", f"apps.connections.open: {error}", fix)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return failed("Socket Mode", _slack_error(exc), "check the network")
    return ok("Socket Mode", "the app-level token opens a connection")
