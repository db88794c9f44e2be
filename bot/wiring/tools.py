"""The tools of a process: the registry and the MCP servers that add to it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings
from bot.telemetry.metrics import Metrics
from bot.tools.loading import build_registry
from bot.tools.mcp import config as mcp_config
from bot.tools.mcp.metrics import McpCollector
from bot.tools.mcp.supervisor import McpSupervisor
from bot.tools.registry import ToolRegistry


@dataclass
class Tools:
    """Own the tool registry and the MCP servers' processes and sessions."""

    registry: ToolRegistry
    mcp: McpSupervisor

    @classmethod
    def load(cls, s: Settings) -> Tools:
        """Load the tools (a bad TOOL_MODULES or MCP_SERVERS fails here); start nothing."""
        registry = build_registry(
            modules=s.tool_modules,
            builtins=s.builtin_tools,
            timeout=s.tool_timeout,
            result_limit=s.history_token_budget * 3 // 2,  # about half the history budget
            max_calls=s.max_tool_calls_per_round,
        )
        mcp = McpSupervisor(
            mcp_config.load(s.mcp_servers), start_wait=s.mcp_start_wait, images=s.tool_images
        )
        return cls(registry, mcp)

    async def start(self, metrics: Metrics) -> None:
        """Start the MCP servers (one that fails is retried in the background)."""
        await self.mcp.start(self.registry)
        metrics.registry.register(McpCollector(self.mcp))

    async def close(self) -> None:
        """Stop the MCP servers; stdio servers' processes end here."""
        await self.mcp.stop()
