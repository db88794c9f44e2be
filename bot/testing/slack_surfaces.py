"""Fake Slack methods for the app's surfaces: views, DMs opened by the bot, channel history.

Strict to Slack's reference where it states a limit: `views.publish` takes a `home` view of
at most 100 blocks, `views.open` a `modal` whose title is at most 24 characters and whose
`private_metadata` is at most 3,000; `conversations.history` returns top-level messages newest
first, `limit` at most 999, pages with `response_metadata.next_cursor`; `users.info` carries
`locale` only when asked with `include_locale`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.testing.slack_rules import Json, SlackError, require, ts_key

VIEW_BLOCKS = {"home": 100, "modal": 100}
TITLE_CHARS = 24
METADATA_CHARS = 3000
HISTORY_MAX = 999
PROMPTS_MAX = 4


def _check_view(view: Any, kind: str) -> Json:
    if not isinstance(view, dict) or view.get("type") != kind:
        raise SlackError("invalid_arguments", detail=f"view.type must be {kind}")
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or len(blocks) > VIEW_BLOCKS[kind]:
        raise SlackError("invalid_arguments", detail="view.blocks")
    for block in blocks:
        if not isinstance(block, dict) or not block.get("type"):
            raise SlackError("invalid_blocks")
    if kind == "modal":
        title = (view.get("title") or {}).get("text", "")
        if not title or len(title) > TITLE_CHARS:
            raise SlackError("invalid_arguments", detail="view.title")
    if len(str(view.get("private_metadata") or "")) > METADATA_CHARS:
        raise SlackError("invalid_arguments", detail="view.private_metadata")
    return view


class SurfacesMixin:
    """Views, conversations.open and conversations.history on top of SlackWorkspace."""

    messages: dict[tuple[str, str], Json]
    channels: dict[str, Json]
    users: dict[str, Json]
    _wire: Callable[..., Json]  # (message, *, metadata=False)
    _next_ts: Callable[[], str]

    def _init_surfaces(self) -> None:
        self.home_views: dict[str, Json] = {}  # user -> the view last published
        self.opened_views: list[Json] = []

    def surface_methods(self) -> dict[str, Callable[[Json], Json]]:
        """Return the methods this mixin implements, by name."""
        return {
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "conversations.open": self._conversations_open,
            "conversations.history": self._history,
            "assistant.threads.setSuggestedPrompts": self._suggested_prompts,
        }

    def dm_of(self, user: str) -> str:
        """Return the id of the bot's DM with `user` (what conversations.open answers)."""
        return f"D{user}"

    def _views_publish(self, args: Json) -> Json:
        require(args, "user_id", "view")
        view = _check_view(args["view"], "home")
        self.home_views[args["user_id"]] = view
        return {"ok": True, "view": {**view, "id": f"VH{args['user_id']}"}}

    def _views_open(self, args: Json) -> Json:
        require(args, "trigger_id", "view")
        view = _check_view(args["view"], "modal")
        self.opened_views.append(view)
        return {"ok": True, "view": {**view, "id": "V" + self._next_ts().replace(".", "")}}

    def _conversations_open(self, args: Json) -> Json:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users and not args.get("channel"):
            raise SlackError("users_list_not_supplied")
        if len(users) != 1:
            raise SlackError("not_enough_users" if not users else "method_not_supported")
        channel = self.dm_of(users[0])
        self.channels.setdefault(channel, {"is_im": True, "user": users[0]})
        return {"ok": True, "channel": {"id": channel}}

    def _history(self, args: Json) -> Json:
        require(args, "channel")
        channel = args["channel"]
        if self.channels.get(channel, {}).get("is_member") is False:
            raise SlackError("not_in_channel")
        limit = int(args.get("limit") or 100)
        if limit > HISTORY_MAX:
            raise SlackError("invalid_limit")
        oldest = ts_key(str(args.get("oldest") or "0.0"))
        latest = ts_key(str(args["latest"])) if args.get("latest") else None
        inclusive = str(args.get("inclusive")).lower() in ("1", "true")

        def within(ts: str) -> bool:
            key = ts_key(ts)
            low = key >= oldest if inclusive else key > oldest
            high = latest is None or (key <= latest if inclusive else key < latest)
            return low and high

        top = [
            m
            for (ch, ts), m in self.messages.items()
            if ch == channel and m["thread_ts"] in (None, ts) and within(ts)
        ]
        top.sort(key=lambda m: ts_key(m["ts"]), reverse=True)
        start = int(args.get("cursor") or 0)
        page, rest = top[start : start + limit], top[start + limit :]
        with_metadata = str(args.get("include_all_metadata")).lower() in ("1", "true")
        return {
            "ok": True,
            "messages": [self._wire(m, metadata=with_metadata) for m in page],
            "has_more": bool(rest),
            "response_metadata": {"next_cursor": str(start + limit) if rest else ""},
        }

    def _suggested_prompts(self, args: Json) -> Json:
        # thread_ts is optional: under agent_view the prompts pin to the Messages tab.
        require(args, "channel_id", "prompts")
        prompts = args["prompts"]
        if not isinstance(prompts, list) or not 0 < len(prompts) <= PROMPTS_MAX:
            raise SlackError("invalid_arguments", detail="prompts")
        if any(not (p.get("title") and p.get("message")) for p in prompts):
            raise SlackError("invalid_arguments", detail="prompts need title and message")
        return {"ok": True}
