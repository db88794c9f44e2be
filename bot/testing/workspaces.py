"""Several workspaces on one bot: OAuth installs and events signed per workspace."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.testing.harness import SECRET, Harness
from bot.testing.signing import event_body, signed_headers

OAUTH = {"slack_bot_token": "", "slack_client_id": "111.222", "slack_client_secret": "shh"}


TOKENS = {"T1": "xoxb-team-one", "T2": "xoxb-team-two"}


async def install(bot: Harness, team_id: str, bot_user_id: str = "UBOT") -> None:
    """Run the OAuth flow as a browser would: install page, Slack, redirect back."""
    assert bot.http is not None
    async with bot.http.get(f"{bot.url}/slack/install", allow_redirects=False) as response:
        assert response.status == 302
        location = response.headers["Location"]
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    query = parse_qs(urlsplit(location).query)
    assert query["client_id"] == ["111.222"] and "chat:write" in query["scope"][0]
    code = f"code-{team_id}"
    bot.slack.add_install(code, team_id, TOKENS[team_id], bot_user_id=bot_user_id)
    async with bot.http.get(
        f"{bot.url}/slack/oauth_redirect",
        params={"code": code, "state": query["state"][0]},
        headers={"Cookie": cookie},
        allow_redirects=False,
    ) as response:
        assert response.status == 200, await response.text()


async def send(bot: Harness, team_id: str, event: dict[str, Any]) -> None:
    body = event_body({**event, "team": team_id}, team_id=team_id)
    status, _ = await bot.post_raw(body, signed_headers(SECRET, body))
    assert status == 200
