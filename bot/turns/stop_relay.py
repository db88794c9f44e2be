"""Stop a thread's answer from whichever replica Slack told: Slack's agent-session Stop.

`agent_session_stopped` names a thread, not a replica: it can reach a process that is not
the one streaming the answer. The replica that receives it stops the answer when it runs
here; otherwise, with `REDIS_URL`, it publishes the request on `<prefix>stop` and every
replica stops the answers of that thread it runs. Only the asker, or a workspace admin or
owner (checked once, by the receiving replica), may stop an answer; anyone else gets the
same ephemeral note as for the Stop button. Without Redis a request for an answer running
elsewhere is logged and dropped (one process: nothing else runs it).

Redis failing costs the one request being relayed: the listener reconnects with a backoff,
and a publish that fails is logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bot import texts
from bot.slack.writer import Writer
from bot.turns.dispatcher import Dispatcher, LiveAnswer

logger = logging.getLogger(__name__)

MAX_BACKOFF = 30.0


@dataclass(frozen=True, slots=True)
class StopRequest:
    """Someone stopped the agent session of a thread (`agent_session_stopped`)."""

    team_id: str
    channel: str
    thread_ts: str
    user_id: str
    streams: tuple[str, ...] = ()  # the messages whose streams Slack stopped
    admin: bool = False  # the user is a workspace admin or owner


class StopRelay:
    """Stop the answers of a thread here, or ask the other replicas to (Redis pub/sub)."""

    def __init__(
        self, dispatcher: Dispatcher, writer: Writer, *, redis: Any = None, prefix: str = ""
    ) -> None:
        self.dispatcher = dispatcher
        self.writer = writer
        self.redis = redis
        self.channel = f"{prefix}stop"
        self.listening = asyncio.Event()  # set while subscribed (tests wait for it)

    def running_here(self, request: StopRequest) -> list[LiveAnswer]:
        """Return the answers of the request's thread this process runs."""
        return self.dispatcher.live_in_thread(
            request.team_id, request.channel, request.thread_ts, request.streams
        )

    async def stop(self, request: StopRequest) -> bool:
        """Stop the thread's answer here, or relay it; tell whether anyone could act on it."""
        here = self.running_here(request)
        if here:
            await self._apply(request, here)
            return True
        if self.redis is None:
            logger.info("no answer runs in thread %s to stop", request.thread_ts)
            return False
        try:
            receivers = await self.redis.publish(self.channel, json.dumps(asdict(request)))
        except Exception as exc:  # noqa: BLE001 - costs this one request
            logger.warning("could not relay a stop request (%s)", type(exc).__name__)
            return False
        # This replica hears its own request: only another listener could act on it.
        return int(receivers or 0) > (1 if self.listening.is_set() else 0)

    async def listen(self) -> None:
        """Take stop requests from the other replicas until cancelled (reconnecting)."""
        if self.redis is None:
            return
        delay = 0.5
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.listening.set()
                    delay = 0.5
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self._received(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: try again later
                logger.warning("stop requests not received (%s); retrying", type(exc).__name__)
            self.listening.clear()
            await asyncio.sleep(delay)
            delay = min(MAX_BACKOFF, delay * 2)

    async def _received(self, data: Any) -> None:
        try:
            fields = json.loads(data)
            fields["streams"] = tuple(fields.get("streams") or ())
            request = StopRequest(**fields)
        except (TypeError, ValueError) as exc:
            logger.warning("ignored a malformed stop request (%s)", type(exc).__name__)
            return
        here = self.running_here(request)
        if here:
            await self._apply(request, here)

    async def _apply(self, request: StopRequest, answers: Sequence[LiveAnswer]) -> None:
        """Stop each answer the user may stop; tell them about the others."""
        for live in answers:
            asker = live.request.user_id
            if request.user_id == asker or request.admin:
                logger.info("reply %s stopped by %s (agent session)", live.reply.ts, asker)
                live.stop()
                continue
            try:
                await self.writer.call(
                    request.team_id,
                    "chat.postEphemeral",
                    channel=request.channel,
                    user=request.user_id,
                    thread_ts=request.thread_ts,
                    text=texts.STOP_NOT_ALLOWED.format(asker=asker),
                )
            except Exception as exc:  # noqa: BLE001 - a courtesy note
                logger.warning("could not post an ephemeral note (%s)", type(exc).__name__)
