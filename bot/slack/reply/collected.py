"""A reply nobody watches stream: it only keeps the final text (a Workflow Builder step)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


class CollectedReply:
    """The `Reply` of a turn with no Slack message to stream into."""

    def __init__(self) -> None:
        self.stopped = asyncio.Event()  # never set: there is no Stop button
        self.on_roll: Callable[[], Awaitable[None]] | None = None
        self.text = ""  # the answer so far
        self.final: str | None = None  # the answer as the turn ended it

    @property
    def ts(self) -> str | None:
        return None

    @property
    def layout(self) -> list[list[Any]] | None:
        return None

    @property
    def message_ts(self) -> list[str]:
        return []

    def layout_saved(self, layout: list[list[Any]]) -> None:
        """Nothing to do: no messages."""

    async def start(self) -> str:
        return ""

    def update(self, text: str, status: str | None = None) -> None:
        self.text = text

    def task(
        self, task_id: str, title: str, status: str, sources: Sequence[tuple[str, str]] = ()
    ) -> None:
        """Task cards are not shown anywhere."""

    def offer_stop(self, value: str) -> None:
        """There is no message to show a Stop button on."""

    def offer_feedback(self, feedback_id: int) -> None:
        """There is no message to show feedback buttons on."""

    async def finish(self, text: str) -> None:
        self.final = text

    async def abort(self) -> None:
        self.final = self.final or self.text
