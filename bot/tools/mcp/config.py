"""Read MCP_SERVERS: a JSON file in the `mcpServers` format of Claude Desktop and VS Code.

A server with `command` runs as a child process spoken to over stdio; one with `url` is
reached over Streamable HTTP. `${VAR}` in `env` values and `headers` values is replaced from
the environment, so secrets stay out of the file. A server with `"disabled": true` is skipped.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.settings import SettingsError

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
APPROVAL_MODES = ("by_hint", "always", "never")  # who decides whether a call waits for Approve
NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
MAX_TOOL_NAME = 64


class McpConfigError(SettingsError):
    """MCP_SERVERS cannot be read; the operator sees it at startup."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """One entry of `mcpServers`."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    # by_hint: tools not annotated readOnlyHint=true wait for a person's Approve (the
    # specification's defaults make an unannotated tool one that may write); always; never.
    approval: str = "by_hint"

    @property
    def transport(self) -> str:
        """Return 'stdio' or 'http'."""
        return "stdio" if self.command else "http"


def tool_name(server: str, tool: str) -> str:
    """Return the name the model sees: SERVER__TOOL, other characters as `_`, at most 64."""
    return NAME_CHARS.sub("_", f"{server}__{tool}")[:MAX_TOOL_NAME]


def expand(value: str, environ: Mapping[str, str], where: str) -> str:
    """Replace each `${VAR}` with the environment's value; a missing variable is an error."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise McpConfigError(f"MCP_SERVERS: {where} uses ${{{name}}}, which is not set")
        return environ[name]

    return VARIABLE.sub(lookup, value)


def _strings(raw: Any, where: str, environ: Mapping[str, str] | None) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise McpConfigError(f"MCP_SERVERS: {where} must be an object of strings")
    if environ is None:
        return dict(raw)
    return {k: expand(v, environ, f"{where}.{k}") for k, v in raw.items()}


def parse(data: Any, environ: Mapping[str, str] | None = None) -> list[ServerConfig]:
    """Turn the decoded JSON into server configs, checking every field."""
    environ = os.environ if environ is None else environ
    if not isinstance(data, dict) or not isinstance(data.get("mcpServers"), dict):
        raise McpConfigError('MCP_SERVERS: the file must hold {"mcpServers": {...}}')
    servers: list[ServerConfig] = []
    for name, raw in data["mcpServers"].items():
        where = f"mcpServers.{name}"
        if not isinstance(raw, dict):
            raise McpConfigError(f"MCP_SERVERS: {where} must be an object")
        if raw.get("disabled") is True:
            continue
        if not name.strip():
            raise McpConfigError("MCP_SERVERS: a server has an empty name")
        command, url = raw.get("command"), raw.get("url")
        if bool(command) == bool(url):
            raise McpConfigError(f"MCP_SERVERS: {where} needs either command or url")
        args = raw.get("args") or []
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise McpConfigError(f"MCP_SERVERS: {where}.args must be a list of strings")
        if url and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            raise McpConfigError(f"MCP_SERVERS: {where}.url must be an http(s) URL")
        approval = raw.get("approval", "by_hint")
        if approval not in APPROVAL_MODES:
            modes = " | ".join(f'"{m}"' for m in APPROVAL_MODES)
            raise McpConfigError(f"MCP_SERVERS: {where}.approval must be {modes}")
        servers.append(
            ServerConfig(
                name=name,
                command=str(command or ""),
                args=tuple(args),
                env=_strings(raw.get("env"), f"{where}.env", environ),
                cwd=str(raw["cwd"]) if raw.get("cwd") else None,
                url=str(url or ""),
                headers=_strings(raw.get("headers"), f"{where}.headers", environ),
                approval=approval,
            )
        )
    return servers


def load(path: str, environ: Mapping[str, str] | None = None) -> list[ServerConfig]:
    """Read and parse the MCP_SERVERS file ('' means no servers)."""
    if not path:
        return []
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise McpConfigError(f"MCP_SERVERS: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise McpConfigError(f"MCP_SERVERS: {path} is not valid JSON ({exc})") from None
    return parse(data, environ)
