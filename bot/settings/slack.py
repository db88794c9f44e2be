"""Slack: the app's tokens, installs for many workspaces."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SlackSettings(BaseModel):
    """Slack: the app's tokens, installs for many workspaces."""

    slack_bot_token: str = Field(
        default="",
        description="Bot token `xoxb-...` for one workspace",
        json_schema_extra={"shown_default": "required (unless OAuth installs are on)"},
    )
    slack_signing_secret: str | None = Field(
        default=None,
        description="Verifies that requests come from Slack (forged or stale requests get 401)",
        json_schema_extra={"shown_default": "required in HTTP mode"},
    )
    slack_app_token: str | None = Field(
        default=None,
        description="App-level token `xapp-...`; when set the bot uses Socket Mode instead of HTTP",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Slack Web API base URL (the tests point it at a fake)",
    )
    slack_client_id: str | None = Field(
        default=None,
        description=(
            "With `SLACK_CLIENT_SECRET`: turn on OAuth installs for many workspaces "
            "(`/slack/install`); HTTP mode only"
        ),
    )
    slack_client_secret: str | None = Field(
        default=None,
        description=(
            "With `SLACK_CLIENT_ID`: turn on OAuth installs for many workspaces "
            "(`/slack/install`); HTTP mode only"
        ),
    )
    slack_scopes: str = Field(
        default=(
            "app_mentions:read,chat:write,channels:history,groups:history,im:history,"
            "mpim:history,im:read,im:write,channels:read,groups:read,mpim:read,users:read,"
            "assistant:write,commands,files:read,search:read.public,search:read.private,"
            "search:read.im,search:read.mpim,search:read.files"
        ),
        description="Comma-separated bot scopes requested at install",
        json_schema_extra={"shown_default": "the manifest's bot scopes"},
    )
    slack_redirect_uri: str | None = Field(
        default=None,
        description=(
            "Redirect URL sent to Slack, e.g. `https://bot.example.com/slack/oauth_redirect` "
            "(needed when several are configured)"
        ),
    )
    token_encryption_key: str | None = Field(
        default=None,
        description=(
            "Fernet key(s), comma-separated, newest first: stored workspace tokens are "
            "encrypted with them (see [Many workspaces](deployment.md#many-workspaces))"
        ),
    )
