"""Usage and limits."""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator

from bot.settings.prices import Prices, prices_json


class UsageSettings(BaseModel):
    """Usage and limits."""

    usage_limit_user_daily_tokens: int | None = Field(
        default=None,
        gt=0,
        description=(
            "Tokens one user may use a day in a workspace; over it the bot answers one "
            "sentence and does not ask the model (see [Usage and limits](usage-and-limits.md))"
        ),
    )
    usage_limit_channel_daily_tokens: int | None = Field(
        default=None,
        gt=0,
        description="Tokens all answers in one channel (or DM) may use a day",
    )
    usage_limit_team_monthly_tokens: int | None = Field(
        default=None,
        gt=0,
        description="Tokens a workspace may use a calendar month",
    )
    usage_limit_exempt: Literal["", "none", "admins"] = Field(
        default="",
        description="`admins`: workspace admins and owners are never refused by the limits",
    )
    usage_reserve_tokens: int = Field(
        default=2000,
        ge=1,
        description=(
            "Tokens an answer in flight holds against the limits for what one model request "
            "returns, until the request's usage is known (`MAX_OUTPUT_TOKENS` is used instead"
            " when set)"
        ),
    )
    usage_timezone: str = Field(
        default="UTC",
        description=(
            "IANA time zone whose midnight starts a usage day and month (e.g. `Europe/Berlin`)"
        ),
    )
    usage_command: str = Field(
        default="/llm-usage",
        description="Slash command showing usage (must match the manifest; empty turns it off)",
    )
    model_prices: Prices = Field(
        default_factory=dict,
        description=(
            'JSON prices per million tokens per model, `{"model": {"input": 0.15, "output": '
            '0.6, "cached_input": 0.075}}`; money in `/llm-usage` and the export'
        ),
    )

    @field_validator("model_prices", mode="before")
    @classmethod
    def _prices_json(cls, value: Any) -> Any:
        return prices_json(value)

    @field_validator("usage_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value or "UTC"
