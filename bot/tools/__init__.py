"""Tools the model can call: declare them with `tool`, run them through a `ToolRegistry`."""

from bot.tools.decorator import tool
from bot.tools.registry import Tool, ToolContext, ToolError, ToolRegistry, ToolResult

__all__ = ["Tool", "ToolContext", "ToolError", "ToolRegistry", "ToolResult", "tool"]
