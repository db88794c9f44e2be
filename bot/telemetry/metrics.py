"""Prometheus metrics of one bot process, served at `GET /metrics`.

Each `Metrics` owns its registry, so several bots in one process (the tests) never share
counters. Turns report through a `TurnObserver`, which reads the bot's own stream events.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container, Iterable, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.llm.events import RoundDone, StreamEvent, StreamRetry, TextDelta, ToolCall
from bot.telemetry import scope

if TYPE_CHECKING:
    from bot.tools.registry import ToolResult

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNKNOWN_TOOL = "unknown"  # the label of a call to a tool that is not registered
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 60.0)
TURN_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 600.0)


class _CallbackCounter(Collector):
    """A counter whose value is read from a callable at scrape time."""

    def __init__(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        self.name, self.documentation, self.read = name, documentation, read

    def collect(self) -> Iterable[Metric]:
        yield CounterMetricFamily(self.name, self.documentation, value=self.read())


class Metrics:
    """The bot's counters, histograms and gauges."""

    def __init__(self, *, tool_names: Container[str] = frozenset()) -> None:
        # Label values come only from this list: a name the model made up is `unknown`, so
        # the model can neither add series without bound nor write text into /metrics.
        self.tool_names = tool_names  # registered tools (a live registry: MCP tools change)
        r = self.registry = CollectorRegistry()
        self.turns = Counter(
            "slackbot_turns", "Turns finished, by outcome", ["outcome"], registry=r
        )
        self.first_token = Histogram(
            "slackbot_first_token_seconds",
            "From receiving the Slack event to the first answer text",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.turn_seconds = Histogram(
            "slackbot_turn_seconds",
            "From receiving the Slack event to the final edit of the answer",
            buckets=TURN_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "slackbot_tokens", "Model tokens reported by the server", ["kind"], registry=r
        )
        self.stream_retries = Counter(
            "slackbot_stream_retries", "Broken model streams resumed", ["reason"], registry=r
        )
        self.tool_calls = Counter(
            "slackbot_tool_calls",
            "Tool calls, by tool and outcome",
            ["tool", "outcome"],
            registry=r,
        )
        self.active_streams = Gauge(
            "slackbot_active_streams", "Answers being streamed right now", registry=r
        )
        self.denied = Counter(
            "slackbot_access_denied",
            "Events dropped by the access lists, by the list that matched",
            ["scope"],
            registry=r,
        )
        self.approvals = Counter(
            "slackbot_tool_approvals",
            "Tool calls put to a person, by decision (approved, denied, expired)",
            ["decision"],
            registry=r,
        )
        self.workflow_steps = Counter(
            "slackbot_workflow_steps",
            "Workflow Builder steps run, by outcome (completed, failed)",
            ["outcome"],
            registry=r,
        )
        self.purged = Counter(
            "slackbot_messages_purged", "Stored messages deleted, by reason", ["reason"], registry=r
        )

    def watch_counter(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """Expose a count kept elsewhere (e.g. the writer's 429 count) as a counter."""
        self.registry.register(_CallbackCounter(name, documentation, read))

    def render(self) -> bytes:
        """Return every metric in the Prometheus text format."""
        return generate_latest(self.registry)

    def turn(self) -> TurnObserver:
        """Start observing one turn."""
        return TurnObserver(self)


class TurnObserver:
    """Record one turn's latencies, tokens, retries and tool calls."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        current = scope.current()
        self.started_at = current.started_at if current else time.monotonic()
        self._first_seen = False
        self._finished = False
        metrics.active_streams.inc()

    def saw(self, event: StreamEvent) -> None:
        """Note one stream event of the turn."""
        m = self.metrics
        if type(event) is TextDelta:  # most events, once per delta: checked first and cheaply
            if not self._first_seen and event.text:
                self._first_seen = True
                m.first_token.observe(time.monotonic() - self.started_at)
        elif isinstance(event, StreamRetry):
            m.stream_retries.labels(reason=event.reason).inc()
        elif isinstance(event, RoundDone) and event.usage:
            for kind in ("prompt_tokens", "completion_tokens"):
                value = event.usage.get(kind)
                if isinstance(value, int) and value > 0:
                    m.tokens.labels(kind=kind.removesuffix("_tokens")).inc(value)

    def tools(self, calls: Sequence[ToolCall], results: Sequence[ToolResult]) -> None:
        """Note tool calls and which of them failed."""
        for call, result in zip(calls, results, strict=False):
            name = call.name if call.name in self.metrics.tool_names else UNKNOWN_TOOL
            self.metrics.tool_calls.labels(tool=name, outcome="ok" if result.ok else "error").inc()

    def finish(self, outcome: str) -> None:
        """Note how the turn ended (once)."""
        if self._finished:
            return
        self._finished = True
        self.metrics.active_streams.dec()
        self.metrics.turns.labels(outcome=outcome).inc()
        self.metrics.turn_seconds.observe(time.monotonic() - self.started_at)
