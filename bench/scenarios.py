"""What each benchmark run asks of the bot, for the smoke, quick and full modes."""

from __future__ import annotations

from dataclasses import dataclass, field

TIER3 = {"chat.update": (100.0, 30), "chat.appendStream": (100.0, 30)}
# Latency and load runs measure the bot, not Slack's per-workspace budget: the bot's edit
# budget is opened wide, as if the replies were spread over many workspaces. The tier3 runs
# keep the default budget against the fake's Tier-3 bucket.
WIDE = {
    "edit_budget_per_minute": 60_000.0,
    "edit_budget_burst": 1000,
    "append_budget_per_minute": 60_000.0,
    "append_budget_burst": 1000,
}


@dataclass(frozen=True)
class Scenario:
    """A batch of questions: how many, how long the answers are, how fast the model writes."""

    name: str
    replies: int
    chars: int  # answer length
    pieces: int  # characters per model chunk (one delta)
    delay: float  # seconds between chunks
    spacing: float = 0.0  # seconds between questions; 0 sends them all at once
    first_delay: float = 0.0  # model's time to first chunk
    rate_limits: dict[str, tuple[float, int]] = field(default_factory=dict)
    repeats: int = 1
    settings: dict[str, float] = field(default_factory=dict)  # Settings overrides
    isolate: bool = True  # a fresh process, so memory figures start clean

    @property
    def duration(self) -> float:
        """Return how long the model alone needs for the batch."""
        return (
            self.spacing * self.replies + self.first_delay + self.chars / self.pieces * self.delay
        )

    def spec(self) -> list[dict[str, float]]:
        """Return the per-question plan sent to the fakes' process."""
        one = {
            "chars": self.chars,
            "pieces": self.pieces,
            "delay": self.delay,
            "first_delay": self.first_delay,
        }
        return [dict(one) for _ in range(self.replies)]


def plan(mode: str) -> list[Scenario]:
    """Return the scenarios of `mode` (smoke, quick or full)."""
    if mode == "smoke":  # checks the machinery, not the figures: short edit interval
        fast = {"slack_update_interval": 0.1}
        return [
            Scenario(
                "latency", 3, 60, 4, 0.005, spacing=0.05, settings={**WIDE, **fast}, isolate=False
            ),
            Scenario("load-2", 2, 120, 4, 0.005, settings={**WIDE, **fast}, isolate=False),
            Scenario("tier3-3", 3, 120, 4, 0.01, rate_limits=TIER3, settings=fast, isolate=False),
        ]
    quick = mode == "quick"
    repeats = 1 if quick else 3
    # Load: 4-character deltas at ~33 a second; 1,200 characters (~9 s) in full mode, 600 in quick.
    chars = 600 if quick else 1200
    load = [
        Scenario(f"load-{n}", n, chars, 4, 0.03, repeats=repeats, settings=WIDE)
        for n in (10, 100, 500)
    ]
    return [
        # Questions 250 ms apart: a few replies overlap, as in a lively workspace.
        Scenario(
            "latency",
            30 if quick else 200,
            200,
            4,
            0.02,
            spacing=0.25,
            settings=WIDE,
            isolate=False,
        ),
        *load,
        # Issue 5's target: 30 replies at once against a Tier-3 bucket (100/min, burst 30),
        # each answer 1,600 characters over ~16 s (1,200 over ~9 s in quick mode).
        Scenario(
            "tier3-30",
            30,
            1200 if quick else 1600,
            4,
            0.03 if quick else 0.04,
            rate_limits=TIER3,
            repeats=repeats,
        ),
    ]
