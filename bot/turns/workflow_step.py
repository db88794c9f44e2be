"""The Workflow Builder step "Ask the model": one turn with no Slack message to stream into.

Same model, tools, limits and usage accounting as a mention, under the person the step
names (`user_id`, e.g. "Person who used this workflow"). The question and answer are
stored as a conversation of their own (keyed by the execution id, so a redelivered event
is answered once, on any replica). Tools that need approval are not run: nobody is
there to click Approve, and the model reads that they were declined. The turn gets at
most WORKFLOW_STEP_DEADLINE; a failure becomes a sentence a workflow author can act on.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from bot import texts, texts_tools
from bot.db.records import NewMessage, ReplyStatus, ThreadKey
from bot.errors import BotError, StorageUnavailable
from bot.slack.reply.collected import CollectedReply
from bot.turns.dispatcher import Dispatcher
from bot.turns.request import TurnRequest, step_thread
from bot.turns.turn import Turn
from bot.usage.limits import Reached
from bot.usage.reservations import Hold

logger = logging.getLogger(__name__)

STEP_CHANNEL = "workflow"  # where a step without a context channel is stored
STEP_USER = "workflow"  # whose usage a step without `user_id` counts as


class StepFailed(BotError):
    """The step cannot be completed; the workflow author reads `sentence`."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


@dataclass(frozen=True, slots=True)
class StepRequest:
    """One run of the step, as `function_executed` delivered it."""

    team_id: str
    execution_id: str
    inputs: dict[str, Any]
    deadline: float  # WORKFLOW_STEP_DEADLINE
    limit: int  # WORKFLOW_ANSWER_CHARS


async def answer_step(dispatcher: Dispatcher, step: StepRequest) -> str | None:
    """Return the step's answer; None when another delivery of it is answered already."""
    prompt = str(step.inputs.get("prompt") or "").strip()
    if not prompt:
        raise StepFailed(texts_tools.STEP_EMPTY_PROMPT)
    channel = str(step.inputs.get("channel_id") or "")
    user = str(step.inputs.get("user_id") or "") or STEP_USER
    try:
        claimed = await dispatcher.store.claim(step.team_id, STEP_CHANNEL, step.execution_id, None)
    except StorageUnavailable as exc:
        raise StepFailed(exc.user_message) from None
    if not claimed:
        logger.info("workflow step %s is answered already", step.execution_id)
        return None
    question = texts_tools.step_question(prompt, await _context(dispatcher, step, channel), channel)
    key = ThreadKey(step.team_id, channel or STEP_CHANNEL, step_thread(step.execution_id))
    request = TurnRequest(
        team_id=step.team_id,
        channel=key.channel_id,
        thread_ts=key.thread_ts,
        message_ts=key.thread_ts,
        user_id=user,
        text=question,
    )
    usage = dispatcher.usage
    hold: Hold | None = None  # held against the usage limits, as a mention's answer is
    if usage is not None:
        try:
            held = await usage.admit(step.team_id, key.channel_id, user, dispatcher.client)
        except StorageUnavailable as exc:
            raise StepFailed(exc.user_message) from None
        if isinstance(held, Reached):
            raise StepFailed(held.sentence())
        hold = held
    try:
        _, row_id = await dispatcher.store.append(
            key,
            [
                NewMessage("user", question, user_id=user, slack_ts=key.thread_ts),
                NewMessage("assistant", "", status=ReplyStatus.STREAMING),
            ],
        )
        settings = await dispatcher.settings_for(request)
    except StorageUnavailable as exc:
        if usage is not None and hold is not None:
            await usage.release(hold)
        raise StepFailed(exc.user_message) from None
    deps = dispatcher.turn_deps()
    # No search_slack: the workflow may post the answer anywhere (a Slack Connect channel,
    # an email), so the rule of where results may go (bot.tools.search_rules) cannot hold.
    config = dataclasses.replace(
        deps.config,
        turn_deadline=min(deps.config.turn_deadline, step.deadline),
        usage_footer=False,
        search_user_token="",
    )
    deps = dataclasses.replace(deps, config=config, approvals=None)
    reply = CollectedReply()
    turn = Turn(deps, request, key, reply, settings, row_id=row_id)
    turn.hold = hold  # the turn settles or releases it
    await turn.run()
    final = (reply.final or "").strip()
    if turn.outcome == ReplyStatus.COMPLETE:
        if len(final) > step.limit:
            note = texts_tools.STEP_CUT.format(limit=step.limit)
            final = final[: step.limit - len(note)].rstrip() + note
        return final
    if turn.outcome == ReplyStatus.INTERRUPTED and texts.TURN_TIMED_OUT.strip() in final:
        raise StepFailed(texts_tools.STEP_TIMED_OUT.format(seconds=config.turn_deadline))
    reason = final[len(turn.shown) :].strip() or texts.INTERNAL_ERROR
    raise StepFailed(texts_tools.STEP_FAILED.format(reason=reason))


async def _context(dispatcher: Dispatcher, step: StepRequest, channel: str) -> str:
    """Return the text of the step's context message ('' without one)."""
    ts = str(step.inputs.get("message_ts") or "").strip()
    if not channel and not ts:
        return ""
    if not channel or not ts:
        raise StepFailed(texts_tools.STEP_CONTEXT_HALF)
    try:
        response = await dispatcher.client.conversations_history(
            channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
        )
        messages = response.get("messages") or []
    except Exception as exc:  # noqa: BLE001 - said to the workflow author
        error = getattr(getattr(exc, "response", None), "get", lambda _: None)("error")
        raise StepFailed(
            texts_tools.STEP_CONTEXT_UNREADABLE.format(
                ts=ts, channel=channel, error=error or "failed"
            )
        ) from None
    if not messages:
        raise StepFailed(
            texts_tools.STEP_CONTEXT_UNREADABLE.format(ts=ts, channel=channel, error="not found")
        )
    return str(messages[0].get("text") or "")
