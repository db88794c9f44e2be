"""Build signed Slack Events API requests for posting to the bot's HTTP endpoint."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

_event_ids = itertools.count(1)


def signed_headers(secret: str, body: str, *, timestamp: int | None = None) -> dict[str, str]:
    """Return Slack v0 signature headers for ``body`` signed with ``secret``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/json",
    }


def event_body(
    event: dict[str, Any],
    *,
    team_id: str = "T1",
    event_id: str | None = None,
    api_app_id: str = "A1",
) -> str:
    """Return an Events API ``event_callback`` envelope wrapping ``event`` as JSON."""
    envelope = {
        "token": "verification-token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):010d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": "UBOT",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    return json.dumps(envelope)
