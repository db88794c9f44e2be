"""Fake Slack methods of the agent platform: agent sessions and Real-time Search.

Strict to Slack's reference where it speaks:
- `agents.sessions.setStatus` needs `channel_id`, `thread_ts` (every session here is
  thread-based) and a `status` among processing, active, suspended, closed; a title is at
  most 200 characters; it creates the session (the `title` counts only then) and records each
  status in order; `agents.sessions.rename` needs `channel_id` and `title`. An app not
  subscribed to `agent_session_stopped` gets the warning
  `missing_agent_session_stopped_event_subscription`. `chat.stopStream`'s `session_status`
  takes the same statuses and moves the thread's session on.
- `assistant.search.context` needs `query`; with a bot token it needs the `action_token` of
  an event (`issue_action_token`); `limit` is at most 20; each requested channel type needs
  its `search:read.*` scope; results hold only messages the asking user can read, in
  Slack's shape (`results.messages[]`: author_user_id, team_id, channel_id, channel_name,
  message_ts, content, is_author_bot, permalink).
Not documented, so chosen here: a bot-token search without a valid action token answers
`invalid_action_token`, and renaming an unknown session answers `session_not_found`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from bot.testing.slack_rules import Json, SlackError, require

SESSION_STATUSES = {"processing", "active", "suspended", "closed"}
SEARCH_LIMIT = 20
TITLE_MAX = 200  # characters of a session's title
CHANNEL_SCOPES = {
    "public_channel": "search:read.public",
    "private_channel": "search:read.private",
    "mpim": "search:read.mpim",
    "im": "search:read.im",
}
ALL_SEARCH_SCOPES = {*CHANNEL_SCOPES.values(), "search:read.files"}
_tokens = itertools.count(1)


class AgentsMixin:
    """Agent sessions and assistant.search.context on top of SlackWorkspace."""

    team_id: str
    messages: dict[tuple[str, str], Json]
    channels: dict[str, Json]
    users: dict[str, Json]
    caller_token: str | None
    _stop_stream: Callable[[Json], Json]

    def _init_agents(self) -> None:
        self.sessions: dict[tuple[str, str], Json] = {}  # (channel, thread_ts) -> session
        self.agent_sessions_error: str | None = None  # answer agents.sessions.* with it
        self.stop_event_subscribed = True
        self.action_tokens: dict[str, str] = {}  # action token -> the user it acts for
        self.user_tokens: dict[str, str] = {}  # xoxp- token -> its user
        self.search_scopes: set[str] = set(ALL_SEARCH_SCOPES)

    def agent_methods(self) -> dict[str, Callable[[Json], Json]]:
        """Return the methods this mixin implements, by name."""
        return {
            "agents.sessions.setStatus": self._session_status,
            "agents.sessions.rename": self._session_rename,
            "chat.stopStream": self._stop_stream_session,
            "assistant.search.context": self._search,
        }

    def session_statuses(self, channel: str, thread_ts: str) -> list[str]:
        """Return the statuses a thread's session went through, in order."""
        return list(self.sessions.get((channel, thread_ts), {}).get("statuses", []))

    def issue_action_token(self, user: str) -> str:
        """Return an action token as Slack puts on an event `user` sent to the app."""
        token = f"{next(_tokens)}.{user}.action"
        self.action_tokens[token] = user
        return token

    def _session_status(self, args: Json) -> Json:
        if self.agent_sessions_error:
            raise SlackError(self.agent_sessions_error)
        # thread_ts: "Required for thread-based sessions in regular channels and DMs" (the
        # only kind this app makes); a title is at most 200 characters.
        require(args, "channel_id", "thread_ts", "status")
        status = args["status"]
        if status not in SESSION_STATUSES:
            raise SlackError("invalid_arguments", detail="status")
        if len(str(args.get("title") or "")) > TITLE_MAX:
            raise SlackError("invalid_arguments", detail="title")
        key = (args["channel_id"], str(args.get("thread_ts") or ""))
        session = self.sessions.setdefault(
            key, {"title": args.get("title") or "", "statuses": [], "initiator": None}
        )
        session["initiator"] = session["initiator"] or args.get("initiator_user_id")
        session["statuses"].append(status)
        answer: Json = {"ok": True, "status": status, "title": session["title"]}
        if not self.stop_event_subscribed:
            answer["warning"] = "missing_agent_session_stopped_event_subscription"
        return answer

    def _session_rename(self, args: Json) -> Json:
        if self.agent_sessions_error:
            raise SlackError(self.agent_sessions_error)
        require(args, "channel_id", "thread_ts", "title")
        if len(str(args["title"])) > TITLE_MAX:
            raise SlackError("invalid_arguments", detail="title")
        session = self.sessions.get((args["channel_id"], str(args.get("thread_ts") or "")))
        if session is None:
            raise SlackError("session_not_found")
        session["title"] = args["title"]
        return {"ok": True, "title": args["title"]}

    def _stop_stream_session(self, args: Json) -> Json:
        status = args.get("session_status")
        if status is not None and status not in SESSION_STATUSES:
            raise SlackError("invalid_arguments", detail="session_status")
        answer = self._stop_stream(args)
        if status is not None:
            message = self.messages[(answer["channel"], answer["ts"])]
            session = self.sessions.get((message["channel"], message["thread_ts"] or ""))
            if session is not None:
                session["statuses"].append(status)
        return answer

    # ---- Real-time Search -------------------------------------------------------------

    def _search(self, args: Json) -> Json:
        require(args, "query")
        token = self.caller_token or ""
        if token.startswith("xoxp-"):
            user = self.user_tokens.get(token)
            if user is None:
                raise SlackError("invalid_auth")
        else:
            user = self.action_tokens.get(str(args.get("action_token") or ""))
            if user is None:
                raise SlackError("invalid_action_token")
        limit = int(args.get("limit") or SEARCH_LIMIT)
        if not 1 <= limit <= SEARCH_LIMIT:
            raise SlackError("invalid_arguments", detail="limit")
        kinds = [k for k in str(args.get("channel_types") or "public_channel").split(",") if k]
        if any(k not in CHANNEL_SCOPES for k in kinds):
            raise SlackError("invalid_arguments", detail="channel_types")
        needed = [CHANNEL_SCOPES[k] for k in kinds if CHANNEL_SCOPES[k] not in self.search_scopes]
        if needed:
            raise SlackError("missing_scope", needed=",".join(needed))
        words = [w.lower() for w in str(args["query"]).split() if len(w) > 2]
        found = [
            m
            for m in self.messages.values()
            if m.get("text")
            and any(w in str(m["text"]).lower() for w in words)
            and self._kind(m["channel"]) in kinds
            and self._can_read(user, m["channel"])
        ]
        found.sort(key=lambda m: m["ts"], reverse=True)
        return {
            "ok": True,
            "results": {"messages": [self._result(m) for m in found[:limit]]},
            "response_metadata": {"next_cursor": ""},
        }

    def _kind(self, channel_id: str) -> str:
        info = self.channels.get(channel_id, {})
        if channel_id.startswith("D") or info.get("is_im"):
            return "im"
        if info.get("is_mpim"):
            return "mpim"
        return "private_channel" if info.get("is_private") else "public_channel"

    def _can_read(self, user: str, channel_id: str) -> bool:
        info = self.channels.get(channel_id, {})
        if self._kind(channel_id) == "public_channel":
            return True
        return user in (info.get("members") or [])

    def _result(self, m: Json) -> Json:
        channel = m["channel"]
        author = str(m.get("user") or "")
        return {
            "author_user_id": author,
            "team_id": self.team_id,
            "channel_id": channel,
            "channel_name": self.channels.get(channel, {}).get("name", ""),
            "message_ts": m["ts"],
            "content": m["text"],
            "is_author_bot": bool(m.get("bot_id")),
            "permalink": f"https://fake-workspace.slack.com/archives/{channel}/p{m['ts'].replace('.', '')}",
        }
