"""Tool calls that change things wait for a person: ask in the thread, wait, take the answer.

Each call that needs approval (`Tool.needs_approval`) is stored as a pending approval and
put to the thread as a message with the tool, its arguments and Approve / Deny buttons.
The round waits until every one is decided: a click (`decide`, on any replica: one
conditional UPDATE, so one click counts once), or APPROVAL_TIMEOUT passing (expired, which
the model reads as declined). The waiting turn is woken at once by a click in its own
process and polls the database for clicks that land on another replica.

Crash windows: a process killed while a round waits leaves the pending approvals and the
reply's row (its tool calls stored, no results yet) owned by a dead replica. A later click
takes the row over and carries the answer on (`bot.turns.resume`); a request nobody answers
is expired by the replicas' recovery sweep, which carries the answer on the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot import texts_tools
from bot.db.approvals import ApprovalStore, AskedCall, Decision, StoredApproval
from bot.errors import StorageUnavailable
from bot.llm.events import ToolCall
from bot.slack.writer import Writer
from bot.telemetry.metrics import Metrics

logger = logging.getLogger(__name__)

APPROVE_ACTION = "approve_tool_call"
DENY_ACTION = "deny_tool_call"
POLL = 1.0  # seconds between looks at the database for a click on another replica
ARGUMENTS_SHOWN = 1500  # characters of a call's arguments shown on the request


@dataclass(frozen=True, slots=True)
class Round:
    """Where the calls of one model round come from."""

    message_id: int  # the stored assistant message with the tool calls
    team_id: str
    channel_id: str
    thread_ts: str
    question_ts: str
    reply_ts: str | None
    asker: str


def show_arguments(arguments: str, limit: int = ARGUMENTS_SHOWN) -> str:
    """Return a call's arguments indented for reading, cut to `limit` characters."""
    try:
        text = json.dumps(json.loads(arguments or "{}"), indent=2, ensure_ascii=False)
    except ValueError:
        text = arguments
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def request_blocks(approval: StoredApproval, minutes: float) -> list[dict[str, Any]]:
    """Return the blocks of an approval request: what would run, then the buttons.

    The arguments go in a preformatted rich-text element of plain text elements: Slack
    renders no mention, link or broadcast from those, so a model cannot ping anyone here.
    """
    call = approval.call
    value = str(approval.id)
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": texts_tools.approval_request(_plain(call.tool), call.asker, minutes),
            },
        },
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_preformatted",
                    "elements": [{"type": "text", "text": show_arguments(call.arguments)}],
                }
            ],
        },
        {
            "type": "actions",
            "elements": [
                _button(APPROVE_ACTION, texts_tools.APPROVE_BUTTON, value, "primary"),
                _button(DENY_ACTION, texts_tools.DENY_BUTTON, value, "danger"),
            ],
        },
    ]


def _button(action_id: str, label: str, value: str, style: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "style": style,
        "value": value,
    }


def _plain(name: str) -> str:
    """Return a tool name safe inside mrkdwn (tool names are [A-Za-z0-9_-], but be sure)."""
    return "".join(c for c in name if c.isalnum() or c in "_-")


@dataclass
class Approvals:
    """The one owner of approvals in a process: the stored rows and the rounds waiting here."""

    store: ApprovalStore
    writer: Writer
    metrics: Metrics
    timeout: float = 600.0  # APPROVAL_TIMEOUT
    approvers: frozenset[str] = frozenset()  # APPROVERS, besides the asker
    stale_after: float = 30.0  # a replica silent this long is gone (REPLICA_STALE_AFTER)
    # Whether this replica may judge others gone yet (`ReplicaRegistry.judging`: it has beaten
    # for a full stale period since it last reached the database).
    judging: Callable[[], bool] = field(default=lambda: True)
    poll: float = POLL
    _waiting: dict[int, asyncio.Event] = field(default_factory=dict)
    _asked_at: dict[int, str] = field(default_factory=dict)  # request ts, by approval id

    def may_decide(self, user_id: str, asker: str) -> bool:
        """Tell whether `user_id` may approve or deny a call `asker`'s question caused."""
        return user_id == asker or user_id in self.approvers

    def waiting_here(self, message_id: int) -> bool:
        """Tell whether a round waits for decisions in this process."""
        return message_id in self._waiting

    def wake(self, message_id: int) -> None:
        """Tell a round waiting here that a decision landed."""
        event = self._waiting.get(message_id)
        if event is not None:
            event.set()

    def hold(self, message_id: int) -> asyncio.Event:
        """Note that a round waits here (before any await, so a second click sees it)."""
        return self._waiting.setdefault(message_id, asyncio.Event())

    def release(self, message_id: int) -> None:
        """Note that a round no longer waits here."""
        self._waiting.pop(message_id, None)

    async def decide(self, approval: StoredApproval, decision: Decision, user: str | None) -> bool:
        """Record a decision once; show it on the request and count it. False: decided before."""
        if not await self.store.decide(approval.id, decision, user):
            return False
        logger.info(
            "tool call %s (%s) %s by %s", approval.call.call_id, approval.call.tool, decision, user
        )
        self.metrics.approvals.labels(decision=str(decision)).inc()
        await self._show_outcome(approval, decision, user)
        self.wake(approval.call.message_id)
        return True

    async def settle(self, where: Round, calls: Sequence[ToolCall]) -> dict[str, Decision]:
        """Ask about each call, wait until all are decided or expired; return them by call id."""
        event = self.hold(where.message_id)
        try:
            for call in calls:
                approval, new = await self.store.ask(_asked(where, call), self.timeout)
                if approval.status == Decision.PENDING and (new or approval.prompt_ts is None):
                    await self._post_request(approval)
            wanted = {call.id for call in calls}
            # A look that finds no database is tried again at the next poll: a short outage
            # must not end an answer that may wait ten minutes. Past the last request's
            # expiry with still no database, the answer ends like any turn in an outage.
            give_up = self.store.wall() + self.timeout + self.stale_after
            while True:
                try:
                    held = await self._look(where.message_id, wanted)
                except StorageUnavailable:
                    if self.store.wall() > give_up:
                        raise
                    logger.warning("round %s: no database to look for decisions", where.message_id)
                    await asyncio.sleep(self.poll)
                    continue
                now = self.store.wall()
                pending = [a for a in held.values() if a.status == Decision.PENDING]
                if not pending:
                    return {call_id: a.status for call_id, a in held.items()}
                give_up = max(a.expires_at for a in pending) + self.stale_after
                nearest = min(a.expires_at for a in pending) - now
                event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), max(0.01, min(self.poll, nearest)))
        finally:
            self.release(where.message_id)

    async def _look(self, message_id: int, wanted: set[str]) -> dict[str, StoredApproval]:
        """Return the round's approvals of `wanted` calls, those past their time expired."""
        held = {
            a.call.call_id: a
            for a in await self.store.of_round(message_id)
            if a.call.call_id in wanted
        }
        now = self.store.wall()
        for approval in held.values():
            if approval.status == Decision.PENDING and approval.expires_at <= now:
                await self.decide(approval, Decision.EXPIRED, None)
        # A decision just recorded here (or by a click meanwhile) is read at the next look.
        return held

    async def withdraw(self, message_id: int) -> None:
        """Expire a round's pending requests: its answer ended without running them."""
        for approval in await self.store.of_round(message_id):
            if approval.status == Decision.PENDING:
                await self.decide(approval, Decision.EXPIRED, None)
        await self.store.finish_round(message_id)

    async def finish(self, message_id: int) -> None:
        """Note that a round's results are stored: nothing is left to carry on."""
        try:
            await self.store.finish_round(message_id)
        except Exception as exc:  # noqa: BLE001 - a later sweep finds the results and retries
            logger.warning("could not note round %s as done (%s)", message_id, type(exc).__name__)

    async def _post_request(self, approval: StoredApproval) -> None:
        call = approval.call
        response = await self.writer.call(
            call.team_id,
            "chat.postMessage",
            channel=call.channel_id,
            thread_ts=call.thread_ts or call.question_ts,
            text=texts_tools.approval_request(_plain(call.tool), call.asker, self.timeout / 60),
            blocks=request_blocks(approval, self.timeout / 60),
        )
        ts = (response or {}).get("ts")
        if ts:
            self._asked_at[approval.id] = str(ts)  # known here before the database has it
            try:
                await self.store.prompted(approval.id, str(ts))
            except StorageUnavailable:  # the request stands; only its outcome is not shown
                logger.warning("could not note where approval %s was asked", approval.id)
        logger.info("tool call %s (%s) waits for approval", call.call_id, call.tool)

    async def _show_outcome(
        self, approval: StoredApproval, decision: Decision, user: str | None
    ) -> None:
        """Replace the buttons with the decision (best effort: the decision stands anyway)."""
        posted = approval.prompt_ts or self._asked_at.pop(approval.id, None)
        current = (
            dataclasses.replace(approval, prompt_ts=posted)
            if posted
            else await self.store.get(approval.id)
        )
        if current is None or not current.prompt_ts:
            return
        said = texts_tools.approval_outcome(_plain(current.call.tool), str(decision), user)
        try:
            await self.writer.call(
                current.call.team_id,
                "chat.update",
                channel=current.call.channel_id,
                ts=current.prompt_ts,
                text=said,
                blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": said}}],
            )
        except Exception:
            logger.exception("could not show the decision on approval %s", current.id)


def _asked(where: Round, call: ToolCall) -> AskedCall:
    return AskedCall(
        message_id=where.message_id,
        call_id=call.id,
        team_id=where.team_id,
        channel_id=where.channel_id,
        thread_ts=where.thread_ts,
        question_ts=where.question_ts,
        reply_ts=where.reply_ts,
        asker=where.asker,
        tool=call.name[:128],
        arguments=call.arguments or "",
    )


def declined(decision: Decision) -> str:
    """Return the tool result the model reads for a call that was not approved."""
    return texts_tools.TOOL_EXPIRED if decision == Decision.EXPIRED else texts_tools.TOOL_DECLINED
