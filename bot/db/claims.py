"""Claims: which process answers a Slack message, and whether its reply row exists yet."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.exc import IntegrityError

from bot.db.models import Claim
from bot.db.transactions import StorePart

# Statements built once, their values given with each execution: building a statement and
# its cache key per call cost more than running it (bench/FINDINGS.md).
CLAIMS: Table = Claim.__table__  # type: ignore[assignment]
INSERT_CLAIM = insert(CLAIMS)
UPDATE_CLAIM = update(CLAIMS).where(  # SET: the columns named in the parameters
    CLAIMS.c.team_id == bindparam("claim_team"),
    CLAIMS.c.channel_id == bindparam("claim_channel"),
    CLAIMS.c.message_ts == bindparam("claim_ts"),
)


def claim_key(team_id: str, channel_id: str, message_ts: str) -> dict[str, str]:
    """Return the parameters of UPDATE_CLAIM that name one claim."""
    return {"claim_team": team_id, "claim_channel": channel_id, "claim_ts": message_ts}


class ClaimRows(StorePart):
    """Claim a message, note its placeholder, settle or release the claim."""

    async def claim(
        self,
        team_id: str,
        channel_id: str,
        message_ts: str,
        event_id: str | None,
        *,
        thread_ts: str | None = None,
        settled: bool = True,
    ) -> bool:
        """Claim a Slack message for answering; False when someone already did.

        `settled=False` keeps the claim open until the reply's row exists (`append` with
        `settles`): crash recovery answers or marks an open claim whose replica is gone.
        """
        try:
            async with self._core() as connection:
                await connection.execute(
                    INSERT_CLAIM,
                    {
                        "team_id": team_id,
                        "channel_id": channel_id,
                        "message_ts": message_ts,
                        "event_id": event_id,
                        "thread_ts": thread_ts,
                        "owner": self.owner,
                        "settled": settled,
                    },
                )
        except IntegrityError:
            return False
        return True

    async def placeholder_posted(
        self, team_id: str, channel_id: str, message_ts: str, reply_ts: str
    ) -> None:
        """Note the placeholder of an open claim, so recovery can end it."""
        await self._update_claim(team_id, channel_id, message_ts, reply_ts=reply_ts)

    async def settle_claim(self, team_id: str, channel_id: str, message_ts: str) -> None:
        """Close a claim that needs no reply row (the bot said what it had to say)."""
        await self._update_claim(team_id, channel_id, message_ts, settled=True)

    async def _update_claim(
        self, team_id: str, channel_id: str, message_ts: str, **values: Any
    ) -> None:
        async with self._core() as connection:
            await connection.execute(
                UPDATE_CLAIM, {**claim_key(team_id, channel_id, message_ts), **values}
            )

    async def release_claim(self, team_id: str, channel_id: str, message_ts: str) -> None:
        """Give a claim back so a redelivery can try again (used when nothing was posted)."""
        async with self._tx() as session:
            claim = await session.get(Claim, (team_id, channel_id, message_ts))
            if claim is not None:
                await session.delete(claim)
