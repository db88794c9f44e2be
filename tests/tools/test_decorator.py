"""`tool` builds the name, description and JSON schema from a typed function."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

import pytest

from bot.tools import Tool, ToolContext, tool
from bot.tools.schema import ToolArgumentError


async def search(
    ctx: ToolContext,
    query: str,
    limit: int = 5,
    ratio: float = 0.5,
    exact: bool = False,
    sort: Literal["new", "old"] = "new",
    channel: str | None = None,
    tags: list[str] | None = None,
    owner: Optional[str] = None,  # noqa: UP045 - the old spelling must work too
    note: Annotated[str, "A free-form note."] = "",
) -> list[str]:
    """Search the archive for messages.

    Longer explanation that is part of the description.

    Args:
        query: Words to look for.
        limit: How many results
            to return at most.
        ratio (float): A ratio.
        sort: Newest or oldest first.

    Returns:
        The matching texts.
    """
    return [query]


def test_schema_from_signature_and_docstring() -> None:
    made = tool(search)
    assert isinstance(made, Tool)
    assert made.name == "search"
    assert made.description == (
        "Search the archive for messages. Longer explanation that is part of the description."
    )
    assert made.context_param == "ctx"
    assert made.parameters == {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "Words to look for."},
            "limit": {
                "type": "integer",
                "description": "How many results to return at most.",
                "default": 5,
            },
            "ratio": {"type": "number", "description": "A ratio.", "default": 0.5},
            "exact": {"type": "boolean", "default": False},
            "sort": {
                "type": "string",
                "enum": ["new", "old"],
                "description": "Newest or oldest first.",
                "default": "new",
            },
            "channel": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "owner": {"type": "string"},
            "note": {"type": "string", "description": "A free-form note.", "default": ""},
        },
        "required": ["query"],
    }
    assert "ctx" not in made.parameters["properties"], "the context is injected, not advertised"
    assert made.spec() == {
        "type": "function",
        "function": {
            "name": "search",
            "description": made.description,
            "parameters": made.parameters,
        },
    }


def test_overrides_and_no_parameters() -> None:
    @tool(name="ping-2", description="Check the bot is alive.", timeout=3)
    async def ping() -> str:
        return "pong"

    assert (ping.name, ping.description, ping.timeout) == ("ping-2", "Check the bot is alive.", 3)
    assert ping.parameters == {"type": "object", "properties": {}}


async def test_validation_coerces_and_reports() -> None:
    made = tool(search)
    assert made.validate is not None
    assert made.validate({"query": "x", "limit": "7", "sort": "old"}) == {
        "query": "x",
        "limit": 7,
        "sort": "old",
    }
    with pytest.raises(ToolArgumentError) as caught:
        made.validate({"limit": "lots", "sort": "sideways", "colour": "red"})
    message = str(caught.value)
    for part in (
        "unknown parameter 'colour'",
        "missing required parameter 'query'",
        "'limit': Input should be a valid integer",
        "'sort': Input should be 'new' or 'old'",
    ):
        assert part in message
    assert await made(None, query="direct") == ["direct"], "a Tool is still callable"


def test_unsupported_types_are_refused_when_declared() -> None:
    async def bad(when: dict) -> str:  # type: ignore[type-arg]
        return ""

    async def untyped(x) -> str:  # type: ignore[no-untyped-def]
        return ""

    async def star(*items: str) -> str:
        return ""

    for func, words in ((bad, "unsupported"), (untyped, "annotation"), (star, "keyword")):
        with pytest.raises(TypeError, match=words):
            tool(func)
    with pytest.raises(ValueError, match="must match"):
        tool(name="has spaces")(search)
