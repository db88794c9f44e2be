"""What users see."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SurfaceSettings(BaseModel):
    """What users see."""

    reply_buttons: bool = Field(
        default=True,
        description=(
            "Stop button while an answer streams, feedback buttons when it is done (see [What"
            " users see](what-users-see.md))"
        ),
    )
    usage_footer: bool = Field(
        default=False,
        description="Add tokens in/out, time and tokens per second under each finished answer",
    )
    config_command: str = Field(
        default="/llm-config",
        description=(
            "Slash command that opens the per-channel settings modal (must match the "
            "manifest; empty turns it off)"
        ),
    )
    dm_threads: bool = Field(
        default=False,
        description=(
            "`true`: each top-level DM message starts its own conversation, answered in its "
            "thread, as Slack's agent messaging experience (`agent_view`) shows DMs; `false`:"
            " top-level DM messages form one running conversation answered top level"
        ),
    )
    agent_sessions: Literal["auto", "agent", "assistant"] = Field(
        default="auto",
        description=(
            "Thread status and title with `agents.sessions.*` (`agent`, Slack's agent "
            "platform, with its own Stop), `assistant.threads.*` (`assistant`, apps from the "
            "older manifest), or `auto`: learned per workspace from Slack's answer (see "
            "[Agent sessions](what-users-see.md#agent-sessions-and-slacks-own-stop))"
        ),
    )
    config_editors: str = Field(
        default="",
        description=(
            "Who may change channel settings: comma-separated user ids and/or `admins` "
            "(workspace admins and owners); guests and other organisations never may"
        ),
        json_schema_extra={"shown_default": "empty (everyone in the channel)"},
    )
    allowed_models: str = Field(
        default="",
        description=(
            "Comma-separated models `/llm-config` offers as a list and accepts; empty keeps a"
            " free text field"
        ),
        json_schema_extra={"shown_default": "empty (any name)"},
    )
