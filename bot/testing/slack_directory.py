"""Who and where in the fake workspace: auth and OAuth, conversations.info/members, users.info."""

from __future__ import annotations

from bot.testing.slack_rules import Json, SlackError


class SlackDirectory:
    """The Web API methods about tokens, conversations and users (state in SlackWorkspace)."""

    team_id: str
    bot_user_id: str
    bot_id: str
    channels: dict[str, Json]
    users: dict[str, Json]
    caller_token: str | None
    team_tokens: dict[str, tuple[str, str]]
    oauth_codes: dict[str, Json]
    revoked_tokens: list[str]

    def _oauth_access(self, args: Json) -> Json:
        if args.get("code") not in self.oauth_codes:
            raise SlackError("invalid_code")
        return self.oauth_codes.pop(args["code"])

    def _auth_revoke(self, args: Json) -> Json:
        """Revoke the token the call was made with (`test=true` only pretends)."""
        token = self.caller_token or ""
        if args.get("test") in (True, "true", "1"):
            return {"ok": True, "revoked": False}
        self.team_tokens.pop(token, None)
        self.revoked_tokens.append(token)
        return {"ok": True, "revoked": True}

    def _auth_test(self, args: Json) -> Json:
        team_id, bot_user_id = self.team_tokens.get(self.caller_token or "", (None, None))
        if team_id is not None:
            return {
                "ok": True,
                "url": f"https://{team_id.lower()}.slack.com/",
                "team": team_id,
                "user": "bot",
                "team_id": team_id,
                "user_id": bot_user_id,
                "bot_id": self.bot_id,
                "is_enterprise_install": False,
            }
        return {
            "ok": True,
            "url": "https://fake-workspace.slack.com/",
            "team": "Fake Team",
            "user": "bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _conversation_info(self, args: Json) -> Json:
        if not args.get("channel"):
            raise SlackError("channel_not_found")
        channel_id: str = args["channel"]
        is_im = channel_id.startswith("D")
        topic = {"value": "", "creator": "", "last_set": 0}
        channel = {
            "id": channel_id,
            "name": "general",
            "is_channel": not is_im,
            "is_group": False,
            "is_im": is_im,
            "is_mpim": False,
            "is_private": False,
            "is_archived": False,
            "is_member": True,
            "created": 1_600_000_000,
            "topic": topic,
            "purpose": dict(topic),
            **self.channels.get(channel_id, {}),
        }
        return {"ok": True, "channel": channel}

    def _conversation_members(self, args: Json) -> Json:
        """Return a channel's seeded ``members`` (the bot alone by default), in pages."""
        if not args.get("channel"):
            raise SlackError("channel_not_found")
        members = self.channels.get(args["channel"], {}).get("members", [self.bot_user_id])
        start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 100)
        page, rest = members[start : start + limit], members[start + limit :]
        cursor = str(start + limit) if rest else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}

    def _user_info(self, args: Json) -> Json:
        if not args.get("user"):
            raise SlackError("user_not_found")
        user_id: str = args["user"]
        seeded = self.users.get(user_id, {})
        name = seeded.get("name", user_id.lower())
        real_name = seeded.get("real_name", f"User {user_id}")
        profile = {"display_name": name, "real_name": real_name, **seeded.get("profile", {})}
        user: Json = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": False,
            "tz": "Europe/Berlin",
            "tz_label": "Central European Time",
            "tz_offset": 3600,
            "is_admin": False,
            "is_owner": False,
            "is_bot": user_id == self.bot_user_id,
            **seeded,
            "profile": profile,
        }
        if str(args.get("include_locale")).lower() in ("1", "true"):
            user.setdefault("locale", "en-US")  # only returned when asked for
        else:
            user.pop("locale", None)
        return {"ok": True, "user": user}
