"""The `/llm-config` modal's choice of MCP servers for a channel (default: all of them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import texts

BLOCK = "mcp_servers"
MAX_CHECKBOXES = 10  # Slack's limit for a checkboxes element; more become a multi-select


def block(servers: Sequence[str], chosen: Sequence[str] | None) -> dict[str, Any] | None:
    """Return the input block listing `servers`, ticked as `chosen` (None: all); None if none."""
    if not servers:
        return None

    def option(name: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": name[:75]}, "value": name[:150]}

    ticked = [option(name) for name in servers if chosen is None or name in chosen]
    kind = "checkboxes" if len(servers) <= MAX_CHECKBOXES else "multi_static_select"
    element: dict[str, Any] = {
        "type": kind,
        "action_id": "value",
        "options": [option(name) for name in servers[:100]],
    }
    if ticked:
        element["initial_options"] = ticked
    return {
        "type": "input",
        "block_id": BLOCK,
        "optional": True,
        "label": {"type": "plain_text", "text": texts.CONFIG_MCP_LABEL},
        "element": element,
    }


def read(values: dict[str, Any], servers: Sequence[str]) -> tuple[str, ...] | None:
    """Read the ticked servers from a submission's state values (None: all of them)."""
    element = (values.get(BLOCK) or {}).get("value")
    if element is None or not servers:
        return None  # a form without the block (no servers configured when it opened)
    picked = {str(o.get("value")) for o in element.get("selected_options") or []}
    chosen = tuple(name for name in servers if name in picked)
    return None if len(chosen) == len(servers) else chosen
