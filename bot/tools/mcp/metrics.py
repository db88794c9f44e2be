"""MCP servers on `/metrics`: how many are up, and per server its state, tools and restarts."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.tools.mcp.supervisor import McpSupervisor


class McpCollector(Collector):
    """Read the supervisor's servers at scrape time."""

    def __init__(self, supervisor: McpSupervisor) -> None:
        self.supervisor = supervisor

    def collect(self) -> Iterable[Metric]:
        servers = GaugeMetricFamily(
            "slackbot_mcp_servers", "Configured MCP servers, by state", labels=["state"]
        )
        for state, count in self.supervisor.counts().items():
            servers.add_metric([state], count)
        up = GaugeMetricFamily(
            "slackbot_mcp_server_up", "1 when the MCP server is connected", labels=["server"]
        )
        tools = GaugeMetricFamily(
            "slackbot_mcp_server_tools", "Tools the MCP server offers", labels=["server"]
        )
        failures = CounterMetricFamily(
            "slackbot_mcp_server_failures",
            "Failed starts and lost connections of the MCP server",
            labels=["server"],
        )
        for link in self.supervisor.links:
            up.add_metric([link.name], 1.0 if link.up else 0.0)
            tools.add_metric([link.name], len(link.tools) if link.up else 0)
            failures.add_metric([link.name], link.failures)
        yield from (servers, up, tools, failures)
