"""Settings read once from the environment (and a `.env` file)."""

from __future__ import annotations

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant in a Slack workspace. Answer concisely and use Markdown "
    "for formatting."
)


class SettingsError(Exception):
    """Raised when the configuration cannot start the bot; the message names the variable."""


class Settings(BaseSettings):
    """Every knob the bot has, named as its environment variable."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: str
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"

    openai_api_key: str
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_max_retries: int = Field(default=2, ge=0)
    openai_timeout: float = Field(default=60.0, gt=0)

    database_url: str = "sqlite+aiosqlite:///./slack_llm_bot.db"
    host: str = "0.0.0.0"
    port: int = 3000

    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    slack_update_interval: float = Field(default=1.0, gt=0)
    slack_message_max_chars: int = Field(default=3900, ge=200, le=12000)
    history_token_budget: int = Field(default=8000, ge=200)
    max_output_tokens: int | None = None
    stream_idle_timeout: float = Field(default=30.0, gt=0)
    stream_max_retries: int = Field(default=3, ge=0)
    turn_deadline: float = Field(default=600.0, gt=0)
    shutdown_grace: float = Field(default=10.0, ge=0)
    log_level: str = "INFO"

    @property
    def socket_mode(self) -> bool:
        """Tell whether the bot connects over Socket Mode instead of serving HTTP."""
        return bool(self.slack_app_token)


class DatabaseSettings(BaseSettings):
    """Just the database URL, for commands that need nothing else (`migrate`)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Settings.model_fields["database_url"].default
    log_level: str = "INFO"


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning a missing or invalid value into a message naming the variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            if err["type"] == "missing":
                problems.append(f"{name} is required but not set")
            else:
                problems.append(f"{name}: {err['msg']}")
        raise SettingsError("; ".join(problems)) from None
    if not settings.socket_mode and not settings.slack_signing_secret:
        raise SettingsError(
            "SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)"
        )
    return settings
