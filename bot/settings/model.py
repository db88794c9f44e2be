"""The model server and what is sent to it."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant in a Slack workspace. Answer concisely and use Markdown "
    "for formatting."
)


class ModelSettings(BaseModel):
    """The model server and what is sent to it."""

    openai_api_key: str = Field(
        description="Key for the model server (any non-empty value for servers without auth)",
        json_schema_extra={"shown_default": "required"},
    )
    openai_base_url: str | None = Field(
        default=None,
        description=(
            "Base URL of any OpenAI-compatible server, e.g. `http://localhost:8000/v1` (no "
            "`user:password@`: the key goes in `OPENAI_API_KEY`)"
        ),
        json_schema_extra={"shown_default": "OpenAI's"},
    )
    openai_model: str = Field(
        default="gpt-4o-mini",
        description="Model name sent with each request",
    )
    openai_max_retries: int = Field(
        default=2,
        ge=0,
        description=(
            "The client's retries for errors before the stream starts (429/5xx, honouring "
            "`Retry-After`)"
        ),
    )
    openai_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds for the client's HTTP requests",
    )
    system_prompt: str = Field(
        default=DEFAULT_SYSTEM_PROMPT,
        description="System prompt sent first in every request",
        json_schema_extra={"shown_default": "a short helpful-assistant prompt"},
    )
    history_token_budget: int = Field(
        default=8000,
        ge=200,
        description="Estimated tokens of history (system prompt included) sent to the model",
    )
    max_output_tokens: int | None = Field(
        default=None,
        description=(
            "`max_tokens` for each request (`max_completion_tokens` for models that refuse "
            "`max_tokens`, see [Model servers](model-servers.md))"
        ),
    )
    reasoning_effort: str = Field(
        default="",
        description=(
            "Sent as `reasoning_effort` (e.g. `low`, `medium`, `high`) to reasoning models; "
            "`/llm-config` can set it per channel"
        ),
        json_schema_extra={"shown_default": "empty (not sent)"},
    )
    model_facts_ttl: float = Field(
        default=6 * 3600.0,
        gt=0,
        description=(
            "Seconds a learned fact about a model (opens `<think>`, cannot take images, "
            "refuses a parameter) is kept"
        ),
    )

    @field_validator("openai_base_url")
    @classmethod
    def _no_credentials_in_url(cls, value: str | None) -> str | None:
        # The client sends OPENAI_API_KEY as `Authorization`; HTTP clients refuse a URL that
        # carries credentials too (aiohttp raises on every request), so say it at startup.
        if value and (urlsplit(value).username or urlsplit(value).password):
            raise ValueError(
                "must not carry credentials (user:password@); put the key in OPENAI_API_KEY"
            )
        return value
