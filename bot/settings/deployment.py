"""Deployment: database, serving, logs, metrics, replicas."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class DeploymentSettings(BaseModel):
    """Deployment: database, serving, logs, metrics, replicas."""

    database_url: str = Field(
        default="sqlite+aiosqlite:///./slack_llm_bot.db",
        description="SQLAlchemy URL; `postgresql://user@host/db` is used with asyncpg",
    )
    host: str = Field(
        default="0.0.0.0",
        description=(
            "Listen address: `POST /slack/events` and `GET /healthz` in HTTP mode, only `GET "
            "/healthz` in Socket Mode"
        ),
    )
    port: int = Field(
        default=3000,
        description="Listen port of `HOST` (the events and health endpoints)",
    )
    event_loop: Literal["asyncio", "uvloop"] = Field(
        default="asyncio",
        description=(
            "The event loop of `python -m bot run`: Python's own `asyncio` loop, or `uvloop` "
            "(install the `uvloop` extra): about a tenth less CPU per streamed delta, but the "
            "first token of 100 answers at once reached Slack later at p95 (docs/benchmarks.md)"
        ),
    )
    log_level: str = Field(
        default="INFO",
        description="Python log level",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description=(
            "`json`: one JSON object per line with `team_id`, `channel_id` and `turn_id` on "
            "every line logged during a turn"
        ),
    )
    log_message_text: bool = Field(
        default=False,
        description=(
            "Log the text of incoming messages (debugging only); otherwise only their length "
            "is logged"
        ),
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description=(
            "Serve `/metrics` on this port only (never on the events port); bound to `METRICS_HOST`"
        ),
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        description="Listen address of `METRICS_PORT`",
    )
    metrics_token: str | None = Field(
        default=None,
        description=(
            "Require `Authorization: Bearer <token>` for `/metrics`; without `METRICS_PORT` "
            "it is then served on the events port. Neither set: no `/metrics`"
        ),
    )
    redis_url: str | None = Field(
        default=None,
        description=(
            "e.g. `redis://redis:6379/0`; replicas then share the edit budget, 429 pauses and"
            " per-thread order through Redis"
        ),
    )
    redis_key_prefix: str = Field(
        default="slackbot:",
        description="Prefix of every Redis key (lets several deployments share one Redis)",
    )
    replica_id: str | None = Field(
        default=None,
        description=(
            "This process's name on the replies it streams; keep it stable across restarts of"
            " the same replica"
        ),
        json_schema_extra={"shown_default": "`<hostname>:<PORT>`"},
    )
    heartbeat_interval: float = Field(
        default=5.0,
        gt=0,
        description=(
            "Seconds between a replica's heartbeats (and its check for other replicas' "
            "orphaned replies)"
        ),
    )
    replica_stale_after: float = Field(
        default=30.0,
        gt=0,
        description=(
            "Seconds without a heartbeat (database clock) after which another replica takes a "
            "replica's streaming replies over and resumes them; a replica judges others only "
            "after beating this long itself"
        ),
    )
    resume_max_age: float = Field(
        default=600.0,
        ge=0,
        description=(
            "Seconds after which a reply left by a dead replica is no longer resumed but "
            "marked interrupted"
        ),
    )
    reorder_window: float = Field(
        default=0.5,
        ge=0,
        description=(
            "Seconds a follow-up waits for earlier messages of its thread still on their way "
            "to any replica, so they are answered in written order"
        ),
    )
