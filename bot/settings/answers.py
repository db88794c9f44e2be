"""Answers: streaming, Slack's rate limits, time limits, load."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class AnswerSettings(BaseModel):
    """Answers: streaming, Slack's rate limits, time limits, load."""

    slack_update_interval: float = Field(
        default=1.0,
        gt=0,
        description="Seconds between edits of one message",
    )
    slack_message_max_chars: int = Field(
        default=3900,
        ge=200,
        le=11000,  # under the 12,000 of a `markdown` block, so the streaming status line fits
        description=(
            "Size (of the rendered text, at most 11,000) at which a long answer continues in a "
            "new message (split at a safe point, see [Reliability](reliability.md))"
        ),
    )
    stream_mode: Literal["update", "native", "auto"] = Field(
        default="update",
        description=(
            "`update`: one message edited with `chat.update`; `native`: Slack's "
            "`chat.startStream`/`appendStream`/`stopStream`; `auto`: native in DM threads "
            "(assistant threads included), `update` elsewhere (see [Rate limits and streaming"
            " modes](streaming.md))"
        ),
    )
    edit_budget_per_minute: float = Field(
        default=45.0,
        gt=0,
        description=(
            "`chat.update` calls a minute per workspace, shared by every reply streaming "
            'there (Slack\'s Tier 3 is "50+ a minute")'
        ),
    )
    edit_budget_burst: int = Field(
        default=20,
        ge=1,
        description=(
            "`chat.update` calls a workspace may make at once before the per-minute pace applies"
        ),
    )
    append_budget_per_minute: float = Field(
        default=90.0,
        gt=0,
        description=(
            '`chat.appendStream` calls a minute per workspace (Tier 4, "100+ a minute"), for '
            "native streaming"
        ),
    )
    append_budget_burst: int = Field(
        default=20,
        ge=1,
        description="`chat.appendStream` calls a workspace may make at once",
    )
    native_flush_interval: float = Field(
        default=0.5,
        gt=0,
        description=(
            "Seconds between appends to one native stream (each append carries everything "
            "that arrived)"
        ),
    )
    stream_idle_timeout: float = Field(
        default=30.0,
        gt=0,
        description=(
            "Seconds with nothing received (the response headers and the first chunk "
            "included) before a stream counts as stalled and is resumed; set it above your "
            "model's longest pause, e.g. thinking time"
        ),
    )
    stream_max_retries: int = Field(
        default=3,
        ge=0,
        description=(
            "Times one round's broken or stalled stream is resumed (backoff with full jitter,"
            " 0.5 s doubling up to 8 s) before the partial answer is marked"
        ),
    )
    turn_deadline: float = Field(
        default=600.0,
        gt=0,
        description=(
            "Upper bound in seconds for one whole answer, tool rounds and resumes included "
            "(separate from the idle timeout; counted from when the answer gets a streaming "
            "slot)"
        ),
    )
    max_concurrent_answers: int = Field(
        default=500,
        ge=0,
        description=(
            "Answers streaming at once in one process; later ones show their placeholder and "
            "wait for a slot, person by person in turn (`0` = no cap)"
        ),
    )
    max_concurrent_answers_per_user: int = Field(
        default=0,
        ge=0,
        description=(
            "One person's answers streaming at once in one process; their others wait (`0` = "
            "no cap of its own)"
        ),
    )
    shutdown_grace: float = Field(
        default=10.0,
        ge=0,
        description=(
            "Seconds in-flight answers get to finish on SIGTERM; the rest are saved and left "
            "for the next replica (or this one, restarted) to resume"
        ),
    )
