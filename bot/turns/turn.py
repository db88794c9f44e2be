"""The model loop of one answer: rounds, tools, the Slack reply and the stored message."""

from __future__ import annotations

import asyncio
import logging

from bot import texts
from bot.db.records import ReplyStatus
from bot.errors import ShuttingDown, UserFacingError
from bot.llm.errors import StreamBroken
from bot.slack.reply.native import NativeReply
from bot.turns.rounds import Rounds
from bot.turns.turn_state import Stopped

logger = logging.getLogger(__name__)


class Turn(Rounds):
    """The model loop of one answer, with its Slack reply and stored assistant message.

    Composed in layers, each a module: `TurnState` (state, row saves, thinking display),
    `ToolRound`, `ModelRound` and `Rounds`; this one runs them and ends the reply.
    """

    async def run(self) -> None:
        """Answer: run the model rounds, end the reply, store how it ended."""
        status = ReplyStatus.COMPLETE
        note = ""
        try:
            self.status.thinking()
            note = await self._rounds_unless_stopped()
        except Stopped:
            status, note = ReplyStatus.STOPPED, texts.STOPPED_BY_USER
            logger.info("reply %s was stopped by the user", self.reply.ts)
        except TimeoutError:
            if self._deadline is None or not self._deadline.expired():
                raise
            status, note = ReplyStatus.INTERRUPTED, texts.TURN_TIMED_OUT
            logger.warning("turn in %s hit its deadline", self.key.channel_id)
        except ShuttingDown as exc:
            status, note = ReplyStatus.INTERRUPTED, exc.user_message
        except StreamBroken:
            status, note = ReplyStatus.FAILED, texts.STREAM_FAILED
        except UserFacingError as exc:
            status, note = ReplyStatus.FAILED, ("\n\n" if self.shown else "") + exc.user_message
            logger.warning("turn failed: %s", exc)
        except asyncio.CancelledError:
            if self.suspension.active:  # shutting down while a person decides: see Suspension
                await asyncio.shield(self.suspension.pause())
                raise
            # A shutdown's grace ran out: leave the reply streaming for the next replica
            # (or this one, restarted) to resume, rather than end it unfinished.
            await asyncio.shield(self._hand_over())
            raise
        except Exception:
            status, note = ReplyStatus.FAILED, ("\n\n" if self.shown else "") + texts.INTERNAL_ERROR
            logger.exception("turn failed unexpectedly")
        await self._end_whole(status, note)

    async def _end_whole(self, status: ReplyStatus, note: str) -> None:
        """End the reply even if the turn is cancelled meanwhile (a shutdown's grace ran out):
        a final edit cut midway would leave a complete answer marked interrupted later."""
        ending = asyncio.ensure_future(self._end(status, note))
        try:
            await asyncio.shield(ending)
        except asyncio.CancelledError:
            await asyncio.wait({ending})
            raise

    async def _end(self, status: ReplyStatus, note: str) -> None:
        self.outcome = status if not (self._lost or self.handed_over) else ReplyStatus.INTERRUPTED
        if self.handed_over:
            # This replica looked gone while a person decided, and the one that took the
            # click carries the answer on: the reply and the row are its to end. The tokens
            # spent here are recorded here.
            await self.status.close()
            await self.reply.abort()
            await self.session.end()
            self.observed.finish("interrupted")
            await self._record_usage(ReplyStatus.INTERRUPTED)
            return
        if self._lost:
            # Another replica took the reply over (this one looked dead) and goes on with
            # it in the same messages: stop quietly, no edit, no write, no usage record
            # (the answer gets one, from whoever finishes it).
            await self.reply.abort()
            self.observed.finish("interrupted")
            return
        final = (self.shown + note) if self.shown else (note.lstrip() or texts.INTERNAL_ERROR)
        await self.suspension.withdraw()  # ended while a person was to decide: too late now
        await self.status.close()
        self.progress.ended(status)
        if self.notes:
            final += "\n\n" + "\n".join(self.notes)
        if status == ReplyStatus.COMPLETE:
            final += self._finishing_touches()
        try:
            await self._finish_reply(final)
        except Exception:
            logger.exception("final edit failed")
        self.observed.finish(status)
        await self._save_end(status)
        await self._record_usage(status)

    async def _finish_reply(self, text: str) -> None:
        """End the reply, and the thread's agent session (`active`) with it."""
        agent = await self.session.is_agent()
        native = self.reply if isinstance(self.reply, NativeReply) and agent else None
        if native is not None:  # the last chat.stopStream moves the session on
            native.session_status = "active"
        try:
            await self.reply.finish(text)
        finally:
            await self.session.end(by_stream=native is not None and native.session_ended)

    async def _record_usage(self, status: ReplyStatus) -> None:
        if self.deps.usage is not None:
            duration = self.deps.clock.now() - self.started
            stopped = status == ReplyStatus.STOPPED
            await self.deps.usage.record(self.meter, status, duration, self.hold, stopped=stopped)

    def _finishing_touches(self) -> str:
        """Offer feedback buttons and return the usage footer (if on) for a complete answer."""
        self.reply.offer_feedback(self.row_id)
        if not self.deps.config.usage_footer or not any(self.usage):
            return ""
        prompt, completion = self.usage
        return texts.usage_footer(prompt, completion, self.deps.clock.now() - self.started)
