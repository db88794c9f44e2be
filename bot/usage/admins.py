"""Who is a workspace admin (users.info), remembered briefly: limits ask on every refusal."""

from __future__ import annotations

import logging
import time
from typing import Any

logger = logging.getLogger(__name__)

CACHE_SECONDS = 300.0


class AdminCheck:
    """Ask Slack whether a user is a workspace admin or owner; unknown means no."""

    def __init__(self, *, ttl: float = CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._known: dict[tuple[str, str], tuple[float, bool]] = {}

    async def __call__(self, client: Any, team_id: str, user_id: str) -> bool:
        key = (team_id, user_id)
        seen = self._known.get(key)
        if seen is not None and time.monotonic() - seen[0] < self.ttl:
            return seen[1]
        try:
            response = await client.users_info(user=user_id)
        except Exception as exc:  # noqa: BLE001 - unknown means "not an admin", not cached
            logger.warning("users.info failed for the admin check (%s)", type(exc).__name__)
            return False
        user = response.get("user") or {}
        admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[key] = (time.monotonic(), admin)
        return admin
