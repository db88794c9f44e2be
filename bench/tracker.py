"""Follow each reply through the fake Slack's recorded calls and the fake model's chunk log.

Everything here runs in the fakes' process and reads only what the fakes recorded, on one
monotonic clock (CLOCK_MONOTONIC is system wide on Linux, so the bot's process agrees).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.model import StreamLog
from bot.slack.reply.markup import markdown_of

FIRST_VISIBLE = {"chat.postMessage", "chat.startStream", "assistant.threads.setStatus"}
EDITS = {"chat.update", "chat.appendStream", "chat.stopStream"}


@dataclass
class ReplyTrack:
    """What Slack showed for one question, call by call."""

    tag: str
    channel: str
    event_ts: str
    answer: str
    sent_at: float
    first_visible_at: float | None = None
    parts: list[str] = field(default_factory=list)  # message ts, in order
    texts: dict[str, str] = field(default_factory=dict)
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (time, answer chars shown)
    calls: int = 0
    rate_limited: int = 0
    edits: int = 0
    partial_edits: int = 0  # edits that landed before the whole answer was shown

    @property
    def visible(self) -> str:
        """Return the text the reply's messages show now, joined."""
        return "".join(self.texts[ts] for ts in self.parts)

    @property
    def whole(self) -> bool:
        """Tell whether Slack shows exactly the whole answer."""
        return self.visible == self.answer

    def shown_chars(self) -> int:
        """Return how many leading characters of the answer Slack shows."""
        visible = self.visible
        if self.answer.startswith(visible):
            return len(visible)
        n = 0
        for a, b in zip(visible, self.answer, strict=False):
            if a != b:
                break
            n += 1
        return n


def _text(args: dict[str, Any]) -> str:
    return markdown_of(args)  # a message with blocks: their Markdown, not the `text` fallback


class Tracker:
    """Attribute Slack calls to replies and keep each reply's visible text up to date."""

    def __init__(self) -> None:
        self.replies: dict[str, ReplyTrack] = {}
        self._by_event: dict[tuple[str, str], ReplyTrack] = {}
        self._by_message: dict[tuple[str, str], ReplyTrack] = {}
        self.seen = 0  # calls consumed so far
        self.other_calls = 0

    def expect(self, track: ReplyTrack) -> None:
        """Register a question that was sent to the bot."""
        self.replies[track.tag] = track
        self._by_event[(track.channel, track.event_ts)] = track

    def consume(self, calls: list[Any]) -> None:
        """Apply the calls recorded since the last time, in the order Slack applied them."""
        for call in calls[self.seen :]:
            self._apply(call)
        self.seen = len(calls)

    def _apply(self, call: Any) -> None:
        args, method = call.args, call.method
        channel = str(args.get("channel") or args.get("channel_id") or "")
        track = None
        if method in FIRST_VISIBLE:
            track = self._by_event.get((channel, str(args.get("thread_ts") or "")))
        elif method in EDITS:
            track = self._by_message.get((channel, str(args.get("ts") or "")))
        if track is None:
            self.other_calls += 1
            return
        track.calls += 1
        ok = call.status == 200 and call.response.get("ok")
        if call.status == 429:
            track.rate_limited += 1
        if not ok:
            return
        if track.first_visible_at is None:
            track.first_visible_at = call.at
        if method in ("chat.postMessage", "chat.startStream"):
            ts = str(call.response.get("ts"))
            track.parts.append(ts)
            track.texts[ts] = _text(args)
            self._by_message[(channel, ts)] = track
        elif method in EDITS:
            ts = str(args.get("ts"))
            before = track.texts.get(ts, "")
            track.texts[ts] = _text(args) if method == "chat.update" else before + _text(args)
            track.edits += 1
            if not track.whole:
                track.partial_edits += 1
        else:
            return
        track.timeline.append((call.at, track.shown_chars()))


def reply_metrics(track: ReplyTrack, log: StreamLog | None) -> dict[str, Any]:
    """Summarise one reply: latencies, lags, edits, calls, 429s, whole or not."""
    lags: list[float] = []
    first_lag = None
    if log is not None and log.chunks:
        timeline = sorted(track.timeline)
        best, best_at, j = 0, 0.0, 0
        for sent, chars in log.chunks:
            while best < chars and j < len(timeline):
                at, shown = timeline[j]
                j += 1
                if shown > best:
                    best, best_at = shown, at
            if best < chars:
                break  # never shown
            lags.append(max(0.0, best_at - sent))
        first_lag = lags[0] if lags else None
    return {
        "tag": track.tag,
        "placeholder": (
            None if track.first_visible_at is None else track.first_visible_at - track.sent_at
        ),
        "first_token": first_lag,
        "max_lag": max(lags) if log is not None and lags and len(lags) == len(log.chunks) else None,
        # From the model's last chunk to the whole answer shown (None: never whole).
        "last_lag": lags[-1] if log is not None and lags and len(lags) == len(log.chunks) else None,
        "parts": len(track.parts),
        "calls": track.calls,
        "rate_limited": track.rate_limited,
        "edits": track.edits,
        "partial_edits": track.partial_edits,
        "deltas": len(log.chunks) if log is not None else 0,
        "whole": track.whole,
    }
