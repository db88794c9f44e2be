"""What each benchmark run asks of the bot, for the smoke, quick and full modes."""

from __future__ import annotations

from dataclasses import dataclass, field

SECRET = "bench-signing-secret"  # the fakes sign events with it; the bot checks it
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
    if mode == "quick":  # one process per bot kind, no 500 level, one run each: ~2 minutes
        return [
            Scenario("latency", 20, 200, 4, 0.02, spacing=0.25, settings=WIDE, isolate=False),
            *(
                Scenario(f"load-{n}", n, 300, 4, 0.03, settings=WIDE, isolate=False)
                for n in (10, 100)
            ),
            Scenario("tier3-30", 30, 600, 4, 0.04, rate_limits=TIER3, isolate=False),
        ]
    return [
        # Questions 250 ms apart: a few replies overlap, as in a lively workspace.
        Scenario("latency", 200, 200, 4, 0.02, spacing=0.25, settings=WIDE, isolate=False),
        # 1,200 character answers in 300 deltas of 4 characters, ~33 a second (~9 s).
        *(
            Scenario(f"load-{n}", n, 1200, 4, 0.03, repeats=3, settings=WIDE)
            for n in (10, 100, 500)
        ),
        # 40-character answers (10 deltas): the CPU a reply costs besides its deltas (events,
        # database, placeholder and final edit), to tell per-reply from per-delta work.
        Scenario("short-100", 100, 40, 4, 0.03, repeats=3, settings=WIDE),
        # Issue 5's target: 30 replies at once against a Tier-3 bucket (100/min, burst 30),
        # each answer 1,600 characters over ~16 s.
        Scenario("tier3-30", 30, 1600, 4, 0.04, rate_limits=TIER3, repeats=3),
        # The same with the bot's budget set near the fake's bucket instead of the defaults
        # (which stay under Slack's documented 50 a minute): what the lag owes to the budget.
        Scenario(
            "tier3-30-matched",
            30,
            1600,
            4,
            0.04,
            rate_limits=TIER3,
            settings={"edit_budget_per_minute": 95.0, "edit_budget_burst": 28},
        ),
    ]
