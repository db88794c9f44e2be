"""Tokens by model and kind for Prometheus, with a bounded set of model labels."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter

from bot.telemetry.metrics import Metrics
from bot.usage.meter import Tokens

OTHER = "other"


class TokenMetrics:
    """Count answers' tokens; a model not configured is labelled "other"."""

    def __init__(self, metrics: Metrics, models: Iterable[str]) -> None:
        # Channel settings let anyone type a model name: only configured names become labels.
        self.models = {m for m in models if m}
        self.tokens = Counter(
            "slackbot_model_tokens",
            "Model tokens per answer, by model, kind and whether the server reported them",
            ["model", "kind", "source"],
            registry=metrics.registry,
        )
        self.limited = Counter(
            "slackbot_usage_limited",
            "Questions not answered because a usage limit was reached, by limit",
            ["scope"],
            registry=metrics.registry,
        )

    def add(self, model: str, tokens: Tokens, *, estimated: bool) -> None:
        """Count one answer's tokens."""
        label = model if model in self.models else OTHER
        source = "estimated" if estimated else "reported"
        for kind, value in (
            ("prompt", tokens.prompt),
            ("completion", tokens.completion),
            ("reasoning", tokens.reasoning),
            ("cached", tokens.cached),
        ):
            if value:
                self.tokens.labels(model=label, kind=kind, source=source).inc(value)
