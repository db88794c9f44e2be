"""The rounds of one answer: history in, model rounds out, within the slot, the deadline and Stop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot import texts
from bot.files import parts
from bot.llm import history, template
from bot.llm.errors import ContextTooLong, ModelError
from bot.llm.model_facts import NO_IMAGES
from bot.tools import images as tool_images
from bot.turns import chat_history
from bot.turns.model_round import ModelRound
from bot.turns.turn_state import OverLimit, Stopped

logger = logging.getLogger(__name__)


class Rounds(ModelRound):
    """Run model rounds until an answer ends; Stop and the deadline end them early."""

    async def _rounds_unless_stopped(self) -> str:
        """Run the model rounds; close the model request when the user stops the reply."""
        rounds = asyncio.ensure_future(self._rounds_in_slot())
        stopped = asyncio.ensure_future(self.reply.stopped.wait())
        try:
            await asyncio.wait({rounds, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not rounds.done():
                rounds.cancel()
                await asyncio.gather(rounds, return_exceptions=True)
        if rounds.cancelled():
            raise Stopped
        return rounds.result()

    async def _rounds_in_slot(self) -> str:
        """Wait for a streaming slot, then run the rounds within TURN_DEADLINE.

        The deadline is made once the slot is held (asyncio.timeout fixes its end when it is
        created), so time spent waiting does not count; Stop works while waiting too.
        """
        async with self.deps.answer_slot(f"{self.key.team_id}:{self.request.user_id}") as self.slot:
            self.started = self.deps.clock.now()
            self._deadline = asyncio.timeout(self.deps.config.turn_deadline)
            async with self._deadline:
                if self.resumed is not None:  # a round that waited in a process now gone
                    await self._run_tools(self.resumed, stored=True)
                return await self._rounds()

    async def _rounds(self) -> str:
        deps = self.deps
        model = self.settings.model or deps.model.model
        budget = await deps.model.history_budget(model, deps.config.history_budget)
        retried_context = False
        rounds = 0
        while True:
            if self.thread is None:
                self.thread = await deps.store.history(self.key, limit=deps.config.history_rows)
            stored = self.thread
            self.participants = frozenset(
                [self.request.user_id, *(m.user_id for m in stored if m.user_id)]
            )
            if self.settings.stateless:  # e.g. translation: this message alone, no thread
                asked = [i for i, m in enumerate(stored) if m.slack_ts == self.request.message_ts]
                stored = stored[asked[0] :] if asked else stored
            # An answer that ended empty (a failure, or the tool-round cap) adds nothing.
            kept = [
                m
                for m in stored
                if m.id != self.row_id and (m.role != "assistant" or m.content or m.tool_calls)
            ]
            chat = await chat_history.build(kept, team_id=self.key.team_id, names=deps.names)
            for message in chat:  # what this turn's tools found but the history does not keep
                if message.get("role") == "tool" and message.get("tool_call_id") in self.unstored:
                    message["content"] = self.unstored[message["tool_call_id"]]
            # Strict chat templates (Gemma, Mistral, Llama, Qwen) refuse anything but one
            # system message and alternating turns: merge and fold after fitting.
            messages = template.alternate(history.fit(self.settings.system_prompt, chat, budget))
            # Images the last tool calls returned (TOOL_IMAGES): one user turn after the tool
            # results, in this request only (OpenAI's tool messages carry text alone).
            messages += tool_images.as_messages(self.images)
            self.images = []
            if self.blind or not self._sees_images():
                messages = parts.without_images(messages)
            try:
                outcome = await self._one_round(messages)
                if parts.has_images(messages):  # VISION=true after a refusal: it took them
                    deps.model.forget(NO_IMAGES, "an answer took images", self.settings.model)
            except OverLimit as reached:  # a usage limit stops the answer before this request
                return ("\n\n" if self.shown else "") + str(reached)
            except ContextTooLong:
                if retried_context or self.round_text:
                    raise
                retried_context, budget = True, budget // 2
                continue
            except ModelError as exc:
                if not self._blind_now(exc, messages):
                    raise
                continue
            if outcome == "tool_calls":
                rounds += 1
                if rounds >= deps.config.max_tool_rounds:
                    return texts.TOOL_ROUNDS
                continue
            return {"length": texts.LENGTH_LIMIT, "content_filter": texts.CONTENT_FILTERED}.get(
                outcome, ""
            )

    def _sees_images(self) -> bool:
        """Tell whether images (in history too) go to this turn's model (VISION)."""
        reader = self.deps.files
        blind = self.deps.model.knows(NO_IMAGES, self.settings.model)
        return reader is None or reader.sees_images(blind)

    def _blind_now(self, exc: ModelError, messages: list[dict[str, Any]]) -> bool:
        """Tell whether to ask again without images: the server refused them (VISION=auto)."""
        reader = self.deps.files
        if reader is None or reader.vision != "auto" or self.blind or self.round_text:
            return False
        if not parts.has_images(messages) or not parts.refused_images(exc):
            return False
        logger.warning("the model refused image parts (%s); asking again without", exc)
        self.blind = True
        if not parts.says_model_is_blind(exc):  # one file's trouble is this answer's alone
            self.notes.append(texts.IMAGES_REFUSED)
            return True
        why = f"an error naming the image input ({exc})"
        self.deps.model.learn(NO_IMAGES, why, self.settings.model)
        self.notes.append(texts.VISION_REFUSED)
        return True
