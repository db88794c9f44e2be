"""In-memory Slack workspace state and the chat.* Web API methods for FakeSlack.

The rules every method shares live in `slack_rules`; the methods about tokens,
conversations and users in `slack_directory`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.testing.slack_directory import SlackDirectory
from bot.testing.slack_rules import (
    TEXT_LIMIT,
    UPDATE_TEXT_LIMIT,
    Json,
    SlackError,
    blocks_error,
    limit_error,
    metadata_of,
    require,
    stream_text,
    ts_key,
)


class SlackWorkspace(SlackDirectory):
    """Hold messages, channels and users, and implement the Web API methods on them."""

    def __init__(self, *, team_id: str, bot_user_id: str, bot_id: str, stream_ttl: float) -> None:
        self.team_id, self.bot_user_id, self.bot_id = team_id, bot_user_id, bot_id
        self.stream_ttl = stream_ttl
        self.messages: dict[tuple[str, str], Json] = {}
        self.channels: dict[str, Json] = {}
        self.users: dict[str, Json] = {}
        self._ts_counter = 0
        self._stream_started: dict[tuple[str, str], float] = {}
        self.caller_token: str | None = None
        self.team_tokens: dict[str, tuple[str, str]] = {}  # token -> (team_id, bot_user_id)
        self.oauth_codes: dict[str, Json] = {}  # code -> oauth.v2.access answer
        self.revoked_tokens: list[str] = []  # tokens given back with auth.revoke

        def ok(args: Json) -> Json:
            return {"ok": True}

        self.api_methods: dict[str, Callable[[Json], Json]] = {
            "auth.test": self._auth_test,
            "auth.revoke": self._auth_revoke,
            "oauth.v2.access": self._oauth_access,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.startStream": self._start_stream,
            "chat.appendStream": self._append_stream,
            "chat.stopStream": self._stop_stream,
            "chat.postEphemeral": lambda args: {"ok": True, "message_ts": self._next_ts()},
            "conversations.replies": self._replies,
            "conversations.info": self._conversation_info,
            "conversations.members": self._conversation_members,
            "users.info": self._user_info,
            "assistant.threads.setStatus": ok,
            "assistant.threads.setTitle": ok,
            "reactions.add": ok,
        }

    # ---- seeding and inspection -------------------------------------------------------

    def message(self, channel: str, ts: str) -> Json | None:
        """Return the stored message at ``(channel, ts)``, if any."""
        self._expire_stale()
        return self.messages.get((channel, ts))

    def replies(self, channel: str, thread_ts: str) -> list[Json]:
        """Return a thread's parent and replies sorted by ts."""
        self._expire_stale()
        thread = [
            m
            for (ch, ts), m in self.messages.items()
            if ch == channel and thread_ts in (ts, m["thread_ts"])
        ]
        return sorted(thread, key=lambda m: ts_key(m["ts"]))

    def bot_messages(self, channel: str | None = None) -> list[Json]:
        """Return messages posted by the bot, optionally in one channel, sorted by ts."""
        self._expire_stale()
        found = [
            m
            for m in self.messages.values()
            if m["bot_id"] == self.bot_id and channel in (None, m["channel"])
        ]
        return sorted(found, key=lambda m: ts_key(m["ts"]))

    def add_message(
        self,
        channel: str,
        text: str,
        user: str,
        ts: str | None = None,
        thread_ts: str | None = None,
        bot_id: str | None = None,
        files: list[Json] | None = None,
    ) -> str:
        """Seed a (human) message and return its ts."""
        ts = ts or self._next_ts()
        extra = {"files": files, "upload": True} if files else {}
        self._store(channel, ts, thread_ts=thread_ts, text=text, user=user, bot_id=bot_id, **extra)
        return ts

    def add_channel(self, channel_id: str, name: str, **fields: Any) -> None:
        """Seed a channel for ``conversations.info``."""
        self.channels[channel_id] = {"name": name, **fields}

    def add_user(self, user_id: str, **fields: Any) -> None:
        """Seed a user for ``users.info``."""
        self.users[user_id] = fields

    def add_install(self, code: str, team_id: str, token: str, bot_user_id: str = "UBOT") -> None:
        """Let ``oauth.v2.access`` exchange ``code`` for a bot token of another workspace."""
        self.team_tokens[token] = (team_id, bot_user_id)
        self.oauth_codes[code] = {
            "ok": True,
            "app_id": "A1",
            "authed_user": {"id": "UINSTALLER"},
            "scope": "chat:write,app_mentions:read",
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": bot_user_id,
            "team": {"id": team_id, "name": f"Team {team_id}"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def stop_stream_as_user(self, channel: str, ts: str) -> None:
        """End a stream as if the user pressed stop: later stream calls get ``stopped_by_user``."""
        self.expire_stream(channel, ts)
        if (channel, ts) in self.messages:
            self.messages[(channel, ts)]["stopped_by_user"] = True

    def expire_stream(self, channel: str, ts: str) -> None:
        """End a stream as if Slack had expired it."""
        self._stream_started.pop((channel, ts), None)
        if (channel, ts) in self.messages:
            self.messages[(channel, ts)]["streaming"] = False

    # ---- internals --------------------------------------------------------------------

    def _next_ts(self) -> str:
        self._ts_counter += 1
        n = self._ts_counter
        return f"{1_700_000_000 + n // 10_000}.{n % 10_000 * 100:06d}"

    def _store(self, channel: str, ts: str, **fields: Any) -> Json:
        message: Json = {
            "channel": channel,
            "ts": ts,
            "thread_ts": None,
            "text": "",
            "markdown_text": None,
            "blocks": None,
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "edits": 0,
            "streaming": False,
        }
        message.update(fields)
        self.messages[(channel, ts)] = message
        return message

    def _expire_stale(self) -> None:
        now = time.monotonic()
        for key, started in list(self._stream_started.items()):
            if now - started > self.stream_ttl:
                self.expire_stream(*key)

    def _wire(self, m: Json, *, metadata: bool = False) -> Json:
        """Render a stored message in Slack's wire shape (`metadata` only when asked for)."""
        text = m["text"] or m["markdown_text"] or ""
        out: Json = {
            "type": "message",
            "user": m["user"],
            "text": text,
            "ts": m["ts"],
            "team": self.team_id,
        }
        if m["bot_id"]:
            out["bot_id"] = m["bot_id"]
        if m["blocks"]:
            out["blocks"] = m["blocks"]
        if m.get("files"):
            out["files"], out["upload"] = m["files"], True
        if metadata and m.get("metadata"):
            out["metadata"] = m["metadata"]
        count = sum(
            1
            for o in self.messages.values()
            if o["channel"] == m["channel"] and o["thread_ts"] == m["ts"]
        )
        if m["thread_ts"] or count:
            out["thread_ts"] = m["thread_ts"] or m["ts"]
        if count:
            out["reply_count"] = count
        return out

    def _existing(self, args: Json) -> Json:
        message = self.messages.get((args.get("channel", ""), args.get("ts", "")))
        if message is None:
            raise SlackError("message_not_found")
        return message

    def _streaming(self, args: Json) -> Json:
        require(args, "channel", "ts")
        self._expire_stale()
        message = self._existing(args)
        if message.get("stopped_by_user"):
            raise SlackError("stopped_by_user")
        if not message["streaming"]:
            raise SlackError("message_not_in_streaming_state")
        return message

    @staticmethod
    def _check_content(args: Json, text_limit: int | None) -> None:
        text, blocks, markdown = args.get("text"), args.get("blocks"), args.get("markdown_text")
        if not (text or blocks or markdown or args.get("attachments")):
            raise SlackError("no_text")
        if markdown and (text or "blocks" in args):  # not even `blocks: []`, say the docs
            raise SlackError("markdown_text_conflict")
        error = limit_error(args, text_limit)
        if error is not None:
            raise SlackError(error)

    # ---- API methods ------------------------------------------------------------------

    def _post_message(self, args: Json) -> Json:
        if not args.get("channel"):
            raise SlackError("channel_not_found")
        self._check_content(args, TEXT_LIMIT)
        message = self._store(
            args["channel"],
            self._next_ts(),
            thread_ts=args.get("thread_ts") or None,  # an empty one posts top level
            text=args.get("text") or "",
            markdown_text=args.get("markdown_text"),
            blocks=args.get("blocks"),
            metadata=metadata_of(args.get("metadata")),
        )
        return {
            "ok": True,
            "channel": message["channel"],
            "ts": message["ts"],
            "message": self._wire(message, metadata=True),
        }

    def _update(self, args: Json) -> Json:
        message = self._existing(args)
        if message["bot_id"] != self.bot_id:
            raise SlackError("cant_update_message")
        self._check_content(args, UPDATE_TEXT_LIMIT)
        # chat.update's documented rule: without `blocks`, the previous blocks are kept
        # unless `text` is given; `blocks` (even []) replaces them. What `markdown_text`
        # alone does is not documented: this fake takes the strict reading and keeps them.
        if "blocks" in args:
            message["blocks"] = args["blocks"] or None
        elif args.get("text"):
            message["blocks"] = None
        if args.get("markdown_text"):
            message.update(text="", markdown_text=args["markdown_text"])
        else:
            message["markdown_text"] = None
            if "text" in args:
                message["text"] = args["text"]
        message["edits"] += 1
        return {
            "ok": True,
            "channel": message["channel"],
            "ts": message["ts"],
            "text": message["text"],
            "message": self._wire(message),
        }

    def _delete(self, args: Json) -> Json:
        message = self._existing(args)
        key = (message["channel"], message["ts"])
        del self.messages[key]
        self._stream_started.pop(key, None)
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _start_stream(self, args: Json) -> Json:
        channel = args.get("channel")
        if not channel:
            raise SlackError("channel_not_found")
        require(args, "thread_ts")
        if args.get("task_display_mode") not in (None, "timeline", "plan"):
            raise SlackError("invalid_arguments", detail="task_display_mode")
        if not channel.startswith("D"):
            for field in ("recipient_user_id", "recipient_team_id"):
                if not args.get(field):
                    raise SlackError(f"missing_{field}")
        message = self._store(
            channel,
            self._next_ts(),
            thread_ts=args["thread_ts"],
            markdown_text=stream_text(args),
            streaming=True,
        )
        self._stream_started[(channel, message["ts"])] = time.monotonic()
        return {"ok": True, "channel": channel, "ts": message["ts"]}

    def _append_stream(self, args: Json) -> Json:
        message = self._streaming(args)
        text = stream_text(args)
        if not text and not args.get("chunks"):
            raise SlackError("no_text")
        message["markdown_text"] = (message["markdown_text"] or "") + text
        return {"ok": True, "channel": message["channel"], "ts": message["ts"]}

    def _stop_stream(self, args: Json) -> Json:
        message = self._streaming(args)
        if blocks_error(args.get("blocks")):
            raise SlackError("invalid_blocks")
        message["markdown_text"] = (message["markdown_text"] or "") + stream_text(args)
        if args.get("blocks"):
            message["blocks"] = args["blocks"]
        self.expire_stream(message["channel"], message["ts"])
        return {
            "ok": True,
            "channel": message["channel"],
            "ts": message["ts"],
            "message": self._wire(message),
        }

    def _replies(self, args: Json) -> Json:
        require(args, "channel", "ts")
        if self.channels.get(args["channel"], {}).get("is_member") is False:
            raise SlackError("not_in_channel")
        thread = self.replies(args["channel"], args["ts"])
        if not thread:
            raise SlackError("thread_not_found")
        if args.get("oldest") or args.get("latest"):  # the documented window, like history's
            oldest = ts_key(str(args.get("oldest") or "0.0"))
            latest = ts_key(str(args["latest"])) if args.get("latest") else None
            inclusive = str(args.get("inclusive")).lower() in ("1", "true")
            thread = [
                m
                for m in thread
                if (ts_key(m["ts"]) >= oldest if inclusive else ts_key(m["ts"]) > oldest)
                and (
                    latest is None
                    or (ts_key(m["ts"]) <= latest if inclusive else ts_key(m["ts"]) < latest)
                )
            ]
        start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 1000)
        page, rest = thread[start : start + limit], thread[start + limit :]
        with_metadata = str(args.get("include_all_metadata")).lower() in ("1", "true")
        return {
            "ok": True,
            "messages": [self._wire(m, metadata=with_metadata) for m in page],
            "has_more": bool(rest),
            "response_metadata": {"next_cursor": str(start + limit) if rest else ""},
        }
