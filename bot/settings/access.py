"""Access lists and retention."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AccessSettings(BaseModel):
    """Access lists and retention."""

    allow_teams: str = Field(
        default="",
        description=(
            "Comma-separated workspace ids the bot serves (see [Access control](security.md#access-control))"
        ),
    )
    deny_teams: str = Field(
        default="",
        description=(
            "Comma-separated workspace ids the bot refuses (see [Access control](security.md#access-control))"
        ),
    )
    allow_channels: str = Field(
        default="",
        description=(
            "Comma-separated conversation ids the bot serves; the word `im` stands for every DM"
        ),
    )
    deny_channels: str = Field(
        default="",
        description=(
            "Comma-separated conversation ids the bot refuses; the word `im` stands for every DM"
        ),
    )
    allow_users: str = Field(
        default="",
        description="Comma-separated user ids the bot serves",
    )
    deny_users: str = Field(
        default="",
        description="Comma-separated user ids the bot refuses",
    )
    retention_days: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Delete stored messages older than this many days (checked every `PURGE_INTERVAL`)"
        ),
        json_schema_extra={"shown_default": "unset (keep)"},
    )
    purge_interval: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between retention purges",
    )
