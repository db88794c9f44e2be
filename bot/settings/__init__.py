"""Settings read once from the environment (and a `.env` file).

`Settings` is composed of one group per topic (the modules of this package); each field's
description is the text of the configuration reference (`python -m bot.ops.docs`).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import BotError
from bot.settings.access import AccessSettings
from bot.settings.answers import AnswerSettings
from bot.settings.deployment import DeploymentSettings
from bot.settings.files import FileSettings
from bot.settings.model import DEFAULT_SYSTEM_PROMPT, ModelSettings
from bot.settings.prices import ModelPrice, Prices, prices_json
from bot.settings.slack import SlackSettings
from bot.settings.surfaces import SurfaceSettings
from bot.settings.tools import ToolSettings
from bot.settings.usage import UsageSettings

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "GROUPS",
    "DatabaseSettings",
    "ModelPrice",
    "Prices",
    "Settings",
    "SettingsError",
    "UsageExportSettings",
    "load_settings",
]

# The groups in the order the configuration reference shows them.
GROUPS: tuple[type, ...] = (
    SlackSettings,
    ModelSettings,
    AnswerSettings,
    SurfaceSettings,
    ToolSettings,
    FileSettings,
    UsageSettings,
    DeploymentSettings,
    AccessSettings,
)


class SettingsError(BotError):
    """Raised when the configuration cannot start the bot; the message names the variable."""


class Settings(
    SlackSettings,
    ModelSettings,
    AnswerSettings,
    SurfaceSettings,
    ToolSettings,
    FileSettings,
    UsageSettings,
    DeploymentSettings,
    AccessSettings,
    BaseSettings,
):
    """Every knob the bot has, named as its environment variable."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    @property
    def oauth(self) -> bool:
        """Tell whether workspaces install the app through OAuth (many workspaces)."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def socket_mode(self) -> bool:
        """Tell whether the bot connects over Socket Mode instead of serving HTTP."""
        return bool(self.slack_app_token)


class DatabaseSettings(BaseSettings):
    """Just the database URL, for commands that need nothing else (`migrate`)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Settings.model_fields["database_url"].default
    log_level: str = "INFO"
    retention_days: float | None = Field(default=None, gt=0)
    token_encryption_key: str | None = None


class UsageExportSettings(DatabaseSettings):
    """What `python -m bot usage` needs: the database and the price table."""

    model_prices: Prices = Field(default_factory=dict)

    @field_validator("model_prices", mode="before")
    @classmethod
    def _prices_json(cls, value: Any) -> Any:
        return prices_json(value)


class _TokenProbe(BaseSettings):
    """The settings that say how the bot gets its Slack token(s)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: str = ""
    slack_client_id: str = ""
    slack_client_secret: str = ""


def _token_missing(overrides: dict[str, object]) -> bool:
    fields = {
        k: v for k, v in overrides.items() if k.startswith("_") or k in _TokenProbe.model_fields
    }
    probe = _TokenProbe(**fields)  # type: ignore[arg-type]
    return not probe.slack_bot_token and not (probe.slack_client_id and probe.slack_client_secret)


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning a missing or invalid value into a message naming the variable."""
    problems = []
    if _token_missing(overrides):
        problems.append("SLACK_BOT_TOKEN is required but not set")
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            if len(err["loc"]) > 1:  # inside a structured value (MODEL_PRICES)
                name += " " + ".".join(str(part) for part in err["loc"][1:])
            if err["type"] == "missing" and len(err["loc"]) == 1:
                problems.append(f"{name} is required but not set")
            else:
                problems.append(f"{name}: {err['msg']}")
        raise SettingsError("; ".join(problems)) from None
    if problems:
        raise SettingsError("; ".join(problems))
    if settings.oauth and settings.socket_mode:
        raise SettingsError("SLACK_CLIENT_ID/SLACK_CLIENT_SECRET (OAuth installs) need HTTP mode")
    if not settings.socket_mode and not settings.slack_signing_secret:
        raise SettingsError(
            "SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)"
        )
    return settings
