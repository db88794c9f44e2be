"""Tools, MCP servers, approvals and the Workflow Builder step."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ToolSettings(BaseModel):
    """Tools, MCP servers, approvals and the Workflow Builder step."""

    tool_modules: str = Field(
        default="",
        description=(
            "Comma-separated importable modules whose tools are offered to the model (see "
            "[Tools](tools.md))"
        ),
    )
    builtin_tools: bool = Field(
        default=True,
        description=(
            "Offer the built-in tools; with `false` and no other tools, requests carry no "
            "`tools` at all"
        ),
    )
    tool_timeout: float = Field(
        default=20.0,
        gt=0,
        description="Seconds one tool call may run before the model is told it timed out",
    )
    max_tool_rounds: int = Field(
        default=8,
        ge=1,
        description="Tool rounds (model asks, tools run) per answer before the bot stops with a note",
    )
    max_tool_calls_per_round: int = Field(
        default=16,
        ge=1,
        description=(
            "Tool calls run from one model response; the rest get an error result asking for "
            "them in the next response"
        ),
    )
    slack_search_user_token: str | None = Field(
        default=None,
        description=(
            "A user token (`xoxp-…`, `search:read.public`) that lets `search_slack` run in "
            "turns whose event brought no `action_token`; it then searches public channels "
            "only (see [Searching Slack](tools.md#searching-slack-search_slack))"
        ),
    )
    mcp_servers: str = Field(
        default="",
        description=(
            "Path of a JSON file in the `mcpServers` format; their tools are offered as "
            "`SERVER__TOOL` (see [MCP servers](tools.md#mcp-servers))"
        ),
    )
    mcp_start_wait: float = Field(
        default=10.0,
        ge=0,
        description="Seconds startup waits for MCP servers before serving without the ones not up yet",
    )
    tool_images: bool = Field(
        default=False,
        description=(
            "Show images that tools return (MCP image content) to the model as image parts; "
            "needs a model that accepts images"
        ),
    )
    approval_timeout: float = Field(
        default=600.0,
        gt=0,
        description=(
            'Seconds a tool call waits for Approve before it counts as declined ("Approving '
            'tool calls")'
        ),
    )
    approvers: str = Field(
        default="",
        description="User ids (comma-separated) who may approve or deny tool calls besides the asker",
    )
    workflow_step_deadline: float = Field(
        default=60.0,
        gt=0,
        description='Seconds the Workflow Builder step "Ask the model" may take',
    )
    workflow_answer_chars: int = Field(
        default=4000,
        ge=200,
        description="Longest answer the step returns; longer ones are cut with a note",
    )
