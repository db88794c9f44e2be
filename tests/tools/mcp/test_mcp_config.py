"""MCP_SERVERS: the mcpServers file format, ${VAR} expansion and tool names."""

from __future__ import annotations

import json
from pathlib import Path

import mcp_types as types
import pytest

from bot.tools.mcp.config import McpConfigError, load, parse, tool_name
from bot.tools.mcp.results import convert


def test_stdio_and_http_entries_with_variables_from_the_environment() -> None:
    data = {
        "mcpServers": {
            "tickets": {
                "command": "uvx",
                "args": ["mcp-server-tickets", "--readonly"],
                "env": {"API_KEY": "${TICKETS_KEY}", "MODE": "prod-${STAGE}"},
            },
            "wiki": {"url": "https://wiki.example/mcp", "headers": {"Authorization": "${AUTH}"}},
            "off": {"command": "nothing", "disabled": True},
        }
    }
    env = {"TICKETS_KEY": "k1", "STAGE": "eu", "AUTH": "Bearer t"}
    tickets, wiki = parse(data, env)
    assert (tickets.transport, tickets.command, tickets.args) == (
        "stdio",
        "uvx",
        ("mcp-server-tickets", "--readonly"),
    )
    assert dict(tickets.env) == {"API_KEY": "k1", "MODE": "prod-eu"}
    assert (wiki.transport, wiki.url, dict(wiki.headers)) == (
        "http",
        "https://wiki.example/mcp",
        {"Authorization": "Bearer t"},
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"servers": {}}, '{"mcpServers": {...}}'),
        ({"mcpServers": {"a": {}}}, "either command or url"),
        ({"mcpServers": {"a": {"command": "x", "url": "http://y"}}}, "either command or url"),
        ({"mcpServers": {"a": {"command": "x", "args": "-v"}}}, "args must be a list"),
        ({"mcpServers": {"a": {"url": "ftp://y"}}}, "http(s) URL"),
        ({"mcpServers": {"a": {"command": "x", "env": {"K": 1}}}}, "object of strings"),
        ({"mcpServers": {"a": {"url": "http://y", "headers": {"K": "${NOPE}"}}}}, "${NOPE}"),
    ],
)
def test_bad_entries_name_what_is_wrong(data: dict, message: str) -> None:
    with pytest.raises(McpConfigError, match="MCP_SERVERS") as raised:
        parse(data, {})
    assert message in str(raised.value)


def test_file_problems(tmp_path: Path) -> None:
    assert load("") == []
    with pytest.raises(McpConfigError, match="cannot read"):
        load(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(McpConfigError, match="not valid JSON"):
        load(str(broken))
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"mcpServers": {"t": {"command": "x"}}}), encoding="utf-8")
    assert [s.name for s in load(str(good))] == ["t"]


def test_tool_names_are_sanitised_and_cut_to_64() -> None:
    assert tool_name("my wiki", "search.pages") == "my_wiki__search_pages"
    long = tool_name("s" * 40, "t" * 40)
    assert len(long) == 64 and long.startswith("s" * 40 + "__")


def test_embedded_resources_and_error_results() -> None:
    result = types.CallToolResult(
        content=[
            types.EmbeddedResource(
                type="resource",
                resource=types.TextResourceContents(uri="file:///a.txt", text="hello"),
            )
        ],
        is_error=True,
    )
    output = convert(result)
    assert output.is_error and output.text == "[resource file:///a.txt]\nhello"


def test_approval_mode_per_server() -> None:
    servers = parse(
        {
            "mcpServers": {
                "a": {"command": "x"},
                "b": {"command": "x", "approval": "always"},
                "c": {"command": "x", "approval": "never"},
            }
        },
        {},
    )
    assert [s.approval for s in servers] == ["by_hint", "always", "never"]
    with pytest.raises(McpConfigError, match="approval must be"):
        parse({"mcpServers": {"a": {"command": "x", "approval": "sometimes"}}}, {})
