"""Settings read once from the environment (and a `.env` file)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import BotError

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant in a Slack workspace. Answer concisely and use Markdown "
    "for formatting."
)


class ModelPrice(BaseModel):
    """Price per million tokens; cached input costs `cached_input` when given, else `input`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)


# MODEL_PRICES is read as text and parsed here, so bad JSON is reported like any bad value.
Prices = Annotated[dict[str, ModelPrice], NoDecode]


def prices_json(value: Any) -> Any:
    """Parse MODEL_PRICES when it arrives as JSON text (from the environment)."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else {}
        except ValueError:
            raise ValueError("not valid JSON") from None
    return value


class SettingsError(BotError):
    """Raised when the configuration cannot start the bot; the message names the variable."""


class Settings(BaseSettings):
    """Every knob the bot has, named as its environment variable."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: str = ""  # required unless SLACK_CLIENT_ID/SECRET enable OAuth installs
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
    # Rate limits and streaming modes (README): one edit budget per workspace and method.
    stream_mode: Literal["update", "native", "auto"] = "update"
    # chat.update is Tier 3 ("50+ a minute"): stay under 50 a minute, with room for a burst.
    edit_budget_per_minute: float = Field(default=45.0, gt=0)
    edit_budget_burst: int = Field(default=20, ge=1)
    append_budget_per_minute: float = Field(default=90.0, gt=0)  # Tier 4: "100+ a minute"
    append_budget_burst: int = Field(default=20, ge=1)
    native_flush_interval: float = Field(default=0.5, gt=0)
    history_token_budget: int = Field(default=8000, ge=200)
    max_output_tokens: int | None = None
    # Sent as `reasoning_effort` to reasoning models (e.g. low, medium, high); empty: not sent.
    reasoning_effort: str = ""
    stream_idle_timeout: float = Field(default=30.0, gt=0)
    stream_max_retries: int = Field(default=3, ge=0)
    turn_deadline: float = Field(default=600.0, gt=0)
    # Answers streaming at once in this process; later ones wait for a slot (0 = no cap).
    max_concurrent_answers: int = Field(default=500, ge=0)
    # One person's answers streaming at once; the rest of theirs wait (0: no cap of its own).
    max_concurrent_answers_per_user: int = Field(default=0, ge=0)
    shutdown_grace: float = Field(default=10.0, ge=0)
    log_level: str = "INFO"

    # What users see (README "What users see").
    reply_buttons: bool = True  # Stop while an answer streams, feedback buttons when done
    usage_footer: bool = False  # tokens, time and tokens/s under each finished answer
    config_command: str = "/llm-config"  # slash command for per-channel settings ("" = off)
    dm_threads: bool = False  # each top-level DM message its own thread (agent_view's model)
    # Thread status and title: agents.sessions.* (Slack's agent platform, Stop included),
    # assistant.threads.* (apps from the older manifest), or auto: learned per workspace.
    agent_sessions: Literal["auto", "agent", "assistant"] = "auto"
    # search_slack with a user token (xoxp-, search:read.public) when an event brings no
    # action_token; it searches public channels only, with that user's access.
    slack_search_user_token: str | None = None
    config_editors: str = ""  # who may change them: user ids and/or "admins" ("" = everyone)
    allowed_models: str = ""  # models the settings may pick ("" = any name)

    # Tools (README "Tools").
    tool_modules: str = ""  # comma-separated importable modules that define tools
    builtin_tools: bool = True
    tool_timeout: float = Field(default=20.0, gt=0)
    max_tool_rounds: int = Field(default=8, ge=1)
    max_tool_calls_per_round: int = Field(default=16, ge=1)

    # Files and images in questions (README "Files and images").
    file_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    files_max_per_question: int = Field(default=10, ge=0)  # 0: files are not read
    vision: Literal["auto", "true", "false"] = "auto"
    file_workers: int = Field(default=1, ge=0)  # extraction processes (0: threads)
    file_download_timeout: float = Field(default=60.0, gt=0)
    file_read_timeout: float = Field(default=120.0, gt=0)  # seconds extracting one file may take
    file_worker_memory_mb: int = Field(default=1024, ge=0)  # address space per worker (0: no cap)
    # What the bot learns about a model (README "What the bot learns about a model"): hours kept.
    model_facts_ttl: float = Field(default=6 * 3600.0, gt=0)  # seconds a learned fact is kept

    mcp_servers: str = ""  # path of a JSON file in the mcpServers format (README "MCP servers")
    mcp_start_wait: float = Field(default=10.0, ge=0)  # how long startup waits for them
    tool_images: bool = False  # show images tools return to the model (needs a vision model)
    # Tool calls that change things wait for a person (README "Approving tool calls").
    approval_timeout: float = Field(default=600.0, gt=0)  # seconds; unanswered = declined
    approvers: str = ""  # user ids, comma-separated, who may decide besides the asker
    # The Workflow Builder step "Ask the model" (README "Workflow Builder step").
    workflow_step_deadline: float = Field(default=60.0, gt=0)  # seconds to complete the step
    workflow_answer_chars: int = Field(default=4000, ge=200)  # longer answers are cut, with a note

    # Production (README "Production deployment").
    log_format: Literal["text", "json"] = "text"
    # /metrics: on its own port, and/or behind a bearer token; neither set: not served.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    metrics_token: str | None = None
    log_message_text: bool = False
    allow_teams: str = ""
    deny_teams: str = ""
    allow_channels: str = ""
    deny_channels: str = ""
    allow_users: str = ""
    deny_users: str = ""
    retention_days: float | None = Field(default=None, gt=0)
    purge_interval: float = Field(default=3600.0, gt=0)
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_scopes: str = (
        "app_mentions:read,chat:write,channels:history,groups:history,im:history,"
        "mpim:history,im:read,im:write,channels:read,groups:read,mpim:read,users:read,"
        "assistant:write,commands,files:read,search:read.public,search:read.private,"
        "search:read.im,search:read.mpim,search:read.files"
    )
    slack_redirect_uri: str | None = None
    # Fernet key(s), comma-separated, newest first: stored bot tokens are encrypted with them.
    token_encryption_key: str | None = None
    redis_url: str | None = None
    redis_key_prefix: str = "slackbot:"
    replica_id: str | None = None
    heartbeat_interval: float = Field(default=5.0, gt=0)
    replica_stale_after: float = Field(default=30.0, gt=0)
    # A reply left streaming by a dead replica is resumed unless it began this long ago
    # (seconds, database clock); older ones get the interrupted note instead.
    resume_max_age: float = Field(default=600.0, ge=0)
    # A follow-up waits this long (seconds) for earlier messages of its thread still in
    # flight to any replica, so that messages are answered in the order they were written.
    reorder_window: float = Field(default=0.5, ge=0)

    # Usage and limits (README "Usage and limits"): tokens; unset means no limit.
    usage_limit_user_daily_tokens: int | None = Field(default=None, gt=0)
    usage_limit_channel_daily_tokens: int | None = Field(default=None, gt=0)
    usage_limit_team_monthly_tokens: int | None = Field(default=None, gt=0)
    usage_limit_exempt: Literal["", "none", "admins"] = ""
    # Tokens an answer in flight holds against the limits for each model round, until the
    # round's usage is known (near a limit, an answer that would not fit runs alone).
    usage_reserve_tokens: int = Field(default=2000, ge=1)
    usage_timezone: str = "UTC"  # where a day and a month begin and end
    usage_command: str = "/llm-usage"  # slash command showing usage ("" = off)
    model_prices: Prices = Field(default_factory=dict)  # JSON, price per 1M tokens

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
