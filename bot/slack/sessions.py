"""Which methods show a thread's status and title: agent sessions or assistant threads.

Since August 2026 Slack's agent platform shows a session per thread (`agents.sessions.*`:
`processing` with Slack's own Stop button, `active`, `suspended`, `closed`, and a title).
Apps created from the older manifest keep `assistant.threads.setStatus`/`setTitle`.
`AGENT_SESSIONS=auto` learns the choice per workspace from Slack's answer: a refusal that
says the method is not for this app (`unknown_method`, `not_allowed_token_type`, ...)
makes that workspace use assistant threads, logged once. The fact is forgotten after
`FORGET_AFTER` (an admin may update the app's manifest): agent sessions are tried again,
and a call that lands proves them (a later refusal contradicts it again). Other errors
(rate limits, a bad channel) say nothing about the workspace and change nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from slack_sdk.errors import SlackApiError

from bot.clock import Clock, SystemClock
from bot.slack.writer import SlackWriteFailed, Writer

logger = logging.getLogger(__name__)

Mode = Literal["auto", "agent", "assistant"]
SessionStatus = Literal["processing", "active", "suspended", "closed"]

# Slack's answers that mean "this app cannot use these methods" (not a passing failure).
NOT_FOR_THIS_APP = frozenset(
    {"unknown_method", "not_allowed", "not_allowed_token_type", "method_deprecated"}
)
STOP_NOT_SUBSCRIBED = "missing_agent_session_stopped_event_subscription"
FORGET_AFTER = 3600.0  # seconds before a workspace learned to be "assistant" is asked again


def _error(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def _warnings(response: Any) -> set[str]:
    data = getattr(response, "data", None)
    warning = data.get("warning") if isinstance(data, dict) else None
    return set(str(warning).split(",")) if warning else set()


@dataclass
class AgentSessions:
    """Own, per workspace, the choice between agent sessions and assistant threads."""

    writer: Writer
    mode: Mode = "auto"
    clock: Clock = field(default_factory=SystemClock)
    _assistant_since: dict[str, float] = field(default_factory=dict)  # team -> learned at
    _agent_seen: set[str] = field(default_factory=set)  # teams where a session call landed
    _warned: set[tuple[str, str]] = field(default_factory=set)  # (team, what) logged once

    def known_agent(self, team_id: str) -> bool:
        """Tell whether this workspace is known to use agent sessions (a call landed)."""
        return self.mode == "agent" or (self.uses_agent(team_id) and team_id in self._agent_seen)

    def uses_agent(self, team_id: str) -> bool:
        """Tell whether this workspace's threads get agent sessions (as far as known now)."""
        if self.mode != "auto":
            return self.mode == "agent"
        since = self._assistant_since.get(team_id)
        if since is not None and self.clock.now() - since > FORGET_AFTER:
            del self._assistant_since[team_id]  # ask Slack again: the manifest may be new
            since = None
        return since is None

    async def set_status(
        self,
        team_id: str,
        channel: str,
        thread_ts: str,
        status: SessionStatus,
        *,
        title: str | None = None,
        initiator: str | None = None,
    ) -> bool:
        """Set the session's status (its title only when it is created); tell if it landed.

        False when the workspace uses assistant threads, or the call failed (a status is
        decoration: it never fails a turn).
        """
        if not self.uses_agent(team_id):
            return False
        args: dict[str, Any] = {"channel_id": channel, "thread_ts": thread_ts, "status": status}
        if title:
            args["title"] = title
        if initiator:
            args["initiator_user_id"] = initiator
        try:
            response = await self.writer.call(
                team_id, "agents.sessions.setStatus", must_land=False, **args
            )
        except SlackApiError as exc:
            self.refused(team_id, "agents.sessions.setStatus", _error(exc))
            return False
        except SlackWriteFailed:
            return False
        if response is None:
            return False
        self._agent_seen.add(team_id)
        if STOP_NOT_SUBSCRIBED in _warnings(response):
            self._once(
                team_id,
                STOP_NOT_SUBSCRIBED,
                "Slack says the app is not subscribed to agent_session_stopped: users in %s "
                "see a Stop button that cannot stop (add the event to the app's manifest)",
            )
        return True

    def refused(self, team_id: str, method: str, error: str) -> None:
        """Learn from Slack refusing `method` in a workspace (only errors that prove a choice)."""
        if self.mode != "auto" or error not in NOT_FOR_THIS_APP:
            logger.info("slack %s failed in %s (%s)", method, team_id, error or "unknown")
            return
        if method.startswith("agents.sessions."):
            self._assistant_since[team_id] = self.clock.now()
            self._agent_seen.discard(team_id)
            self._once(
                team_id,
                "assistant",
                "workspace %s uses assistant threads for status and titles "
                "(Slack answered %s to %s)",
                error,
                method,
            )

    def _once(self, team_id: str, what: str, message: str, *args: Any) -> None:
        if (team_id, what) in self._warned:
            return
        self._warned.add((team_id, what))
        logger.warning(message, team_id, *args)
