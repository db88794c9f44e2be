"""Bolt's listener for the Workflow Builder step "Ask the model" (`function_executed`).

Bolt acknowledges the event at once; the answer is worked out in a turn task of the bot
(drained at shutdown like any turn) and the step is completed with
`functions.completeSuccess` (output `answer`) or failed with `functions.completeError` and
a sentence for the workflow's author. Bolt's `complete` / `fail` call Slack with the
execution's own token (`bot_access_token` of the event).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import texts, texts_tools
from bot.slack.mentions import defuse
from bot.turns.dispatcher import Dispatcher
from bot.turns.workflow_step import StepFailed, StepRequest, answer_step

logger = logging.getLogger(__name__)

STEP_ID = "ask_model"  # the callback id under `functions` in app_manifest.yml

Spawn = Callable[[Awaitable[Any], str], None]


def register(
    app: AsyncApp,
    *,
    dispatcher: Dispatcher,
    spawn: Spawn,
    deadline: float,
    limit: int,
) -> None:
    """Attach the step's listener to `app`."""
    metrics = dispatcher.metrics

    async def run(step: StepRequest, complete: Any, fail: Any) -> None:
        try:
            answer = await answer_step(dispatcher, step)
        except StepFailed as exc:
            logger.warning("workflow step %s failed: %s", step.execution_id, exc.sentence)
            metrics.workflow_steps.labels(outcome="failed").inc()
            await fail(error=exc.sentence)
            return
        except asyncio.CancelledError:  # shutting down: tell the workflow rather than nothing
            await asyncio.shield(fail(error=texts_tools.STEP_RESTARTED))
            raise
        except Exception:
            logger.exception("workflow step %s failed", step.execution_id)
            metrics.workflow_steps.labels(outcome="failed").inc()
            await fail(error=texts_tools.STEP_FAILED.format(reason=texts.INTERNAL_ERROR))
            return
        if answer is None:
            return  # a redelivery: the first delivery completes the step
        metrics.workflow_steps.labels(outcome="completed").inc()
        # Bolt's `complete` bypasses the writer's defusing, and the workflow may post the
        # answer in any channel: no broadcast from it.
        await complete(outputs={"answer": defuse(answer)})

    @app.function(STEP_ID)
    async def ask_model(
        body: dict[str, Any], event: dict[str, Any], complete: Any, fail: Any
    ) -> None:
        step = StepRequest(
            team_id=str(body.get("team_id") or ""),
            execution_id=str(event.get("function_execution_id") or ""),
            inputs=dict(event.get("inputs") or {}),
            deadline=deadline,
            limit=limit,
        )
        logger.info("workflow step %s started", step.execution_id)
        spawn(run(step, complete, fail), f"turn-step-{step.execution_id}")
