"""The access lists as one Bolt middleware, in front of every surface that starts a turn.

It reads who asks where from the request itself: a message or mention (the channel it is
in), a Summarize or Translate shortcut, or a submitted question modal (the channel of the
message it points at, not the DM the private answer goes to), the settings command and its
modal, and a Workflow Builder step (its "on behalf of" person and context channel, when it
names them; a refused step fails with a sentence for the workflow's author). A refused request is acknowledged and goes no further: no listener runs and no turn
starts. Its sender gets one note (an ephemeral for a message; in their DM for a shortcut)
unless the whole workspace is refused, where the bot stays silent; the settings command and
modal answer with the refusal itself. Everything else (deletions, uninstalls, buttons, the
Home tab) passes through untouched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot import texts, texts_tools
from bot.db.store import Store
from bot.errors import StorageUnavailable
from bot.slack.writer import Writer
from bot.slack_app import ask, config_modal, listeners, shortcuts, workflow
from bot.slack_app.access import AccessLists
from bot.slack_app.private import PrivateAnswers, Source
from bot.telemetry.metrics import Metrics
from bot.telemetry.scope import turn_scope
from bot.turns.request import TurnRequest

logger = logging.getLogger(__name__)

# The message shortcuts whose source is checked (Ask is checked when its modal comes back).
SHORTCUTS = (shortcuts.SUMMARIZE, shortcuts.TRANSLATE)

Refusal = Callable[[], Coroutine[Any, Any, None]]


@dataclass
class AccessMiddleware:
    """Refuse what the access lists do not allow, once, politely and quietly."""

    lists: AccessLists
    store: Store
    writer: Writer
    private: PrivateAnswers
    metrics: Metrics | None = None
    answer_all: listeners.AnswerAll | None = None  # channels that answer every message
    dm_threads: bool = False
    config_command: str = ""  # the settings slash command, when on
    _notes: set[asyncio.Task[None]] = field(default_factory=set)

    def register(self, app: AsyncApp) -> None:
        """Put the access lists in front of the listeners registered after this."""

        @app.middleware
        async def access_lists(body: dict[str, Any], context: Any, next: Any) -> Any:  # noqa: A002
            answer = self.config_refusal(body)
            if answer is not None:
                return answer
            refusal = self.refusal(body, context)
            if refusal is None:
                return await next()
            # Acknowledged at once; the refusal (a store lookup, a note) runs behind it.
            task = asyncio.create_task(refusal(), name=f"turn-note-{_ts(body)}")
            self._notes.add(task)
            task.add_done_callback(self._notes.discard)
            return BoltResponse(status=200, body="")

    def config_refusal(self, body: dict[str, Any]) -> BoltResponse | None:
        """Answer the settings command or modal of a refused user with the refusal, else None."""
        view = body.get("view")
        if self.config_command and body.get("command") == self.config_command:
            team_id, channel_id = body.get("team_id", ""), body.get("channel_id", "")
            if self.lists.refuses(team_id, channel_id, body.get("user_id", "")) is None:
                return None
            logger.info("%s refused by the access lists in %s", self.config_command, channel_id)
            return BoltResponse(status=200, body=texts.ACCESS_DENIED)
        if body.get("type") != "view_submission" or not isinstance(view, dict):
            return None
        if view.get("callback_id") != config_modal.CALLBACK_ID:
            return None
        team_id, channel_id = config_modal.submitted_channel(view)
        user_id = str((body.get("user") or {}).get("id") or "")
        if not channel_id or self.lists.refuses(team_id, channel_id, user_id) is None:
            return None  # a lost channel is the modal's to explain
        logger.info("a settings submission for %s was refused", channel_id)
        errors = {"preset": texts.ACCESS_DENIED}
        return BoltResponse(status=200, body={"response_action": "errors", "errors": errors})

    def refusal(self, body: dict[str, Any], context: Any) -> Refusal | None:
        """Return how to refuse this request, or None when it may go on."""
        if body.get("type") == "event_callback":
            return self._message_refusal(body, context)
        source = _source(body)
        if source is None:
            return None
        scope = self.lists.refuses(source.team_id, source.channel_id, source.user_id)
        if scope is None:
            return None

        async def refuse() -> None:
            logger.info("shortcut on %s refused by the %s access list", source.channel_id, scope)
            self._count(scope)
            if scope != "team":
                with turn_scope(source.team_id, source.channel_id):  # the workspace's token
                    await self.private.tell(source, texts.ACCESS_DENIED)

        return refuse

    def _message_refusal(self, body: dict[str, Any], context: Any) -> Refusal | None:
        event = body.get("event")
        if isinstance(event, dict) and event.get("type") == "function_executed":
            return self._step_refusal(body, event, context)
        if not isinstance(event, dict) or event.get("type") not in ("message", "app_mention"):
            return None
        bot_user_id = context.bot_user_id or ""
        if event.get("subtype") not in listeners.HUMAN_SUBTYPES:
            return None  # deletions and edits pass: retention must see them
        if listeners.is_from_bot(event, bot_user_id):
            return None
        if not event.get("ts") or not event.get("channel"):
            return None
        team_id = context.team_id or body.get("team_id", "")
        scope = self.lists.refuses(team_id, event["channel"], event.get("user", ""))
        if scope is None:
            return None
        request = listeners.to_request(
            event, team_id, body.get("event_id"), bot_user_id, dm_threads=self.dm_threads
        )

        async def refuse() -> None:
            if event["type"] == "message" and not await listeners.should_answer(
                event, bot_user_id, self.store, team_id, self.answer_all
            ):
                return  # not for the bot: refused in silence, like any other chatter
            logger.info("message %s refused by the %s access list", request.message_ts, scope)
            self._count(scope)
            if scope != "team":
                with turn_scope(request.team_id, request.channel):  # the workspace's token
                    await self._tell(request)

        return refuse

    def _step_refusal(
        self, body: dict[str, Any], event: dict[str, Any], context: Any
    ) -> Refusal | None:
        """Refuse a Workflow Builder step for its person and context channel, when it names them."""
        if (event.get("function") or {}).get("callback_id") != workflow.STEP_ID:
            return None
        inputs = event.get("inputs") or {}
        team_id = context.team_id or body.get("team_id", "")
        channel = str(inputs.get("channel_id") or "") or None  # none named: not checked
        user = str(inputs.get("user_id") or "") or None
        scope = self.lists.refuses(team_id, channel, user)
        if scope is None:
            return None
        fail = context.fail  # functions.completeError with the execution's own token

        async def refuse() -> None:
            logger.info("workflow step refused by the %s access list", scope)
            self._count(scope)
            try:
                await fail(error=texts_tools.STEP_REFUSED)
            except Exception as exc:  # noqa: BLE001 - the workflow times the step out
                logger.warning("could not fail a refused workflow step (%s)", type(exc).__name__)

        return refuse

    def _count(self, scope: str) -> None:
        if self.metrics is not None:
            self.metrics.denied.labels(scope=scope).inc()

    async def _tell(self, request: TurnRequest) -> None:
        """Tell the sender, once per message even when Slack redelivers it."""
        try:
            if not await self.store.claim(
                request.team_id, request.channel, request.message_ts, request.event_id
            ):
                return
            await self.writer.call(
                request.team_id,
                "chat.postEphemeral",
                channel=request.channel,
                user=request.user_id,
                thread_ts=request.thread_ts or None,
                text=texts.ACCESS_DENIED,
            )
        except StorageUnavailable:
            pass
        except Exception:
            logger.exception("could not tell a refused user in %s", request.channel)


def _source(body: dict[str, Any]) -> Source | None:
    """Return where a checked shortcut or question modal points, or None for anything else."""
    if body.get("type") == "message_action" and body.get("callback_id") in SHORTCUTS:
        return Source.from_payload(body)
    view = body.get("view")
    if body.get("type") == "view_submission" and isinstance(view, dict):
        if view.get("callback_id") == ask.ASK_MODAL:
            source, _ = ask.unpack(body, view)
            return source
    return None


def _ts(body: dict[str, Any]) -> str:
    event = body.get("event")
    if isinstance(event, dict):
        return str(event.get("ts") or "")
    return str((body.get("message") or {}).get("ts") or body.get("trigger_id") or "")
