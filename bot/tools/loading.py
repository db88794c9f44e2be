"""Find the tools to offer: the built-ins, modules named by TOOL_MODULES, and plugin entry points.

A module contributes its `TOOLS` list when it has one (Tools or plain typed functions),
otherwise every `Tool` among its attributes (what `@tool` produced). An installed package
can contribute tools through the entry point group `slack_llm_bot.tools`; an entry point
may name a module, a Tool, a function, or a list of them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from bot.settings import SettingsError
from bot.tools.decorator import make_tool
from bot.tools.registry import Tool, ToolRegistry

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "slack_llm_bot.tools"


class ToolLoadError(SettingsError):
    """A configured tool module could not be loaded; the operator sees it at startup."""


def as_tools(obj: Any) -> list[Tool]:
    """Turn a module, a Tool, a typed function or a list of these into Tools."""
    if isinstance(obj, Tool):
        return [obj]
    if isinstance(obj, ModuleType):
        return tools_of_module(obj)
    if isinstance(obj, list | tuple):
        return [tool for item in obj for tool in as_tools(item)]
    if callable(obj):
        return [make_tool(obj)]
    raise TypeError(f"{obj!r} is not a tool, a function or a module")


def tools_of_module(module: ModuleType) -> list[Tool]:
    """Return a module's `TOOLS`, or else every Tool it defines at top level."""
    listed = getattr(module, "TOOLS", None)
    if listed is not None:
        return as_tools(list(listed))
    return [value for value in vars(module).values() if isinstance(value, Tool)]


def load_modules(names: Iterable[str]) -> list[Tool]:
    """Import each named module and collect its tools; fail loudly on a bad name."""
    found: list[Tool] = []
    for name in names:
        try:
            module = importlib.import_module(name)
            tools = tools_of_module(module)
        except Exception as exc:
            raise ToolLoadError(f"TOOL_MODULES: cannot load {name!r}: {exc}") from exc
        if not tools:
            logger.warning("tool module %s defines no tools", name)
        logger.info("loaded %d tools from %s", len(tools), name)
        found += tools
    return found


def load_entry_points(group: str = ENTRY_POINT_GROUP) -> list[Tool]:
    """Collect tools from installed plugins; a broken plugin is logged and skipped."""
    found: list[Tool] = []
    for point in entry_points(group=group):
        try:
            tools = as_tools(point.load())
        except Exception:
            logger.exception("skipping tool entry point %s (%s)", point.name, point.value)
            continue
        logger.info("loaded %d tools from entry point %s", len(tools), point.name)
        found += tools
    return found


def split_modules(setting: str) -> list[str]:
    """Split the comma-separated TOOL_MODULES value."""
    return [part.strip() for part in setting.split(",") if part.strip()]


def build_registry(
    *,
    modules: str = "",
    builtins: bool = True,
    plugins: bool = True,
    timeout: float = 20.0,
    result_limit: int = 20_000,
    max_calls: int = 16,
) -> ToolRegistry:
    """Build the registry: built-ins first, then plugins, then TOOL_MODULES (later wins)."""
    tools: list[Tool] = []
    if builtins:
        from bot.tools.builtins import BUILTIN_TOOLS

        tools += BUILTIN_TOOLS
    if plugins:
        tools += load_entry_points()
    tools += load_modules(split_modules(modules))
    registry = ToolRegistry(tools, timeout=timeout, result_limit=result_limit, max_calls=max_calls)
    logger.info("tools offered to the model: %s", ", ".join(registry.names()) or "none")
    return registry
