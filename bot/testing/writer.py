"""A Slack writer for renderer tests: records each call on an injected clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.testing.clock import FakeClock


class RecordingWriter:
    """Stand in for SlackWriter at the seam we own (`bot.slack.writer.Writer`); record each call."""

    def __init__(self, clock: FakeClock, *, latency: float = 0.0) -> None:
        self.clock = clock
        self.latency = latency
        self.calls: list[tuple[float, str, dict[str, Any]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._ts = 0

    def paused_for(self, team_id: str, method: str) -> float:
        return 0.0

    async def call(self, team_id: str, method: str, *, must_land: bool = True, **args: Any) -> Any:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.calls.append((self.clock.now(), method, args))
        if self.latency:
            await self.clock.sleep(self.latency)
        self.in_flight -= 1
        self._ts += 1
        return {"ts": f"1.{self._ts}"}

    def updates(self) -> list[tuple[float, str]]:
        return [(t, a["markdown_text"]) for t, m, a in self.calls if m == "chat.update"]


if TYPE_CHECKING:  # mypy checks that the recorder fits where a SlackWriter goes
    from bot.slack.writer import Writer

    _fits: type[Writer] = RecordingWriter
