"""A Slack writer for renderer tests: records each call on an injected clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.slack.reply.native import NativeReply
from bot.slack.reply.update import ReplyTarget
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


def native_reply(clock: FakeClock, writer: RecordingWriter) -> NativeReply:
    """Return a NativeReply in a DM thread that writes through `writer`."""
    return NativeReply(
        writer=writer,
        target=ReplyTarget("T1", "D1", "1.0"),
        interval=0.5,
        clock=clock,
    )


def stream_chunks(writer: RecordingWriter) -> list[tuple[str, Any]]:
    """Return (method, chunk) for every chunk the stream calls carried, in order."""
    out = []
    for _, method, args in writer.calls:
        for chunk in args.get("chunks") or []:
            out.append((method, chunk.get("text") or (chunk["id"], chunk["status"])))
    return out
