"""app_manifest.yml against the app: every event, shortcut and command handled, scopes enough."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot import texts
from bot.ops.doctor.scopes import needed_scopes
from bot.settings import Settings
from bot.slack_app import shortcuts
from bot.testing.harness import Harness

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "app_manifest.yml").read_text())

# The bot scopes each Web API method needs (all of them: every conversation kind is served).
HISTORY = {"channels:history", "groups:history", "im:history", "mpim:history"}
READ = {"channels:read", "groups:read", "im:read", "mpim:read"}
METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "files.info": {"files:read"},
    "auth.revoke": set(),
    "oauth.v2.access": set(),
    "assistant.threads.setStatus": {"assistant:write"},
    "assistant.threads.setSuggestedPrompts": {"assistant:write"},
    "assistant.threads.setTitle": {"assistant:write"},
    "agents.sessions.setStatus": {"chat:write"},
    # Real-time Search: each channel type needs its scope (files: search:read.files).
    "assistant.search.context": {
        "search:read.public",
        "search:read.private",
        "search:read.im",
        "search:read.mpim",
    },
    "chat.postMessage": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.delete": {"chat:write"},
    "chat.startStream": {"chat:write"},
    "chat.appendStream": {"chat:write"},
    "chat.stopStream": {"chat:write"},
    "conversations.history": HISTORY,
    "conversations.replies": HISTORY,
    "conversations.info": READ,
    "conversations.members": READ,
    "conversations.open": {"im:write"},
    "users.info": {"users:read"},
    "views.open": set(),
    "views.publish": set(),
}
EVENT_SCOPES = {
    "app_mention": {"app_mentions:read"},
    "app_home_opened": set(),
    "file_deleted": {"files:read"},
    "app_uninstalled": set(),
    "tokens_revoked": set(),
    "agent_session_stopped": set(),
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "message.im": {"im:history"},
    "message.mpim": {"mpim:history"},
    "function_executed": set(),  # the Workflow Builder step; Slack hands it its own token
}
NOT_SLACK = {"chat.completion"}  # OpenAI's object type, in the fake model server
METHOD = re.compile(
    r'"((?:chat|conversations|users|views|assistant\.threads|assistant\.search|agents\.sessions|reactions|auth|files|oauth\.v2|team|apps|bots|pins)\.[a-zA-Z]+)"'
)
SDK_CALL = re.compile(
    r"client\.((?:chat|conversations|users|views|assistant_threads|reactions|auth|files)_[a-zA-Z_]+)\("
)


def bot_scopes() -> set[str]:
    return set(MANIFEST["oauth_config"]["scopes"]["bot"])


def methods_the_bot_calls() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        if "testing" in path.parts:
            continue
        source = path.read_text()
        found |= set(METHOD.findall(source)) - NOT_SLACK
        for name in SDK_CALL.findall(source):
            head, _, tail = name.rpartition("_")
            found.add(head.replace("_", ".") + "." + tail if head else name)
    return found


def event_body(kind: str) -> dict[str, Any]:
    base, _, channel_type = kind.partition(".")
    event: dict[str, Any] = {"type": base, "user": "U1", "ts": "1.000001", "channel": "C1"}
    if channel_type:
        event |= {"channel_type": channel_type[:-1] if channel_type != "im" else "im"}
    if kind == "function_executed":  # every step the manifest declares is handled
        event |= {"function": {"callback_id": "ask_model"}, "function_execution_id": "Fx1"}
    return {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event": event}


async def handlers_for(bot: Harness, body: dict[str, Any]) -> list[str]:
    """Return the names of the app's own listeners (not the catch-all) matching `body`."""
    assert bot.runtime is not None and bot.runtime.bot is not None
    request = AsyncBoltRequest(body=body, mode="socket_mode")
    names = []
    for listener in bot.runtime.bot.bolt._async_listeners:
        name = getattr(listener.ack_function, "__name__", "")
        if name == "ignore_other_events":
            continue
        matches = [
            await m.async_matches(request, BoltResponse(status=200)) for m in listener.matchers
        ]
        if all(matches):
            names.append(name)
    return names


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_every_manifest_event_has_a_handler(bot: Harness) -> None:
    events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert set(events) == set(EVENT_SCOPES), "a new event needs its scope in EVENT_SCOPES"
    for kind in events:
        assert await handlers_for(bot, event_body(kind)), f"nothing handles {kind}"
        assert EVENT_SCOPES[kind] <= bot_scopes(), kind


# Event types a Slack app commonly handles; any the app has a listener for must be subscribed.
CANDIDATE_EVENTS = (
    "app_context_changed",
    "app_uninstalled",
    "channel_deleted",
    "file_deleted",
    "file_shared",
    "link_shared",
    "member_joined_channel",
    "reaction_added",
    "tokens_revoked",
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_every_event_the_app_listens_to_is_in_the_manifest(bot: Harness) -> None:
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    for kind in CANDIDATE_EVENTS:
        if await handlers_for(bot, event_body(kind)):
            assert kind in events, f"the app listens to {kind} but the manifest does not subscribe"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_manifest_shortcuts_are_the_ones_the_app_handles(bot: Harness) -> None:
    declared = MANIFEST["features"]["shortcuts"]
    assert [s["callback_id"] for s in declared] == list(shortcuts.CALLBACK_IDS)
    assert [s["name"] for s in declared] == [
        texts.SHORTCUT_SUMMARIZE,
        texts.SHORTCUT_TRANSLATE,
        texts.SHORTCUT_ASK,
    ]
    assert {s["type"] for s in declared} == {"message"} and "commands" in bot_scopes()
    for shortcut in declared:
        body = {
            "type": "message_action",
            "callback_id": shortcut["callback_id"],
            "team": {"id": "T1"},
        }
        assert await handlers_for(bot, body), shortcut["callback_id"]
    modal = {
        "type": "view_submission",
        "view": {"type": "modal", "callback_id": shortcuts.ASK_MODAL},
        "team": {"id": "T1"},
    }
    assert await handlers_for(bot, modal) == ["asked"]
    command = MANIFEST["features"]["slash_commands"][0]["command"]
    assert command == Settings.model_fields["config_command"].default


def test_manifest_scopes_cover_every_method_the_bot_calls() -> None:
    called = methods_the_bot_calls()
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"add these methods and their scopes to METHOD_SCOPES: {unknown}"
    for method in called:
        missing = METHOD_SCOPES[method] - bot_scopes()
        assert not missing, f"{method} needs {missing}"
    default = {s for s in Settings.model_fields["slack_scopes"].default.split(",") if s}
    assert default == bot_scopes(), "SLACK_SCOPES' default must be the manifest's scopes"


def test_doctor_asks_for_no_scope_the_manifest_lacks() -> None:
    everything = Settings(openai_api_key="k", slack_bot_token="xoxb-1", slack_signing_secret="s")
    assert set(needed_scopes(everything)) <= bot_scopes()


def test_agent_view_suggested_prompts_are_the_ones_pinned() -> None:
    view = MANIFEST["features"]["agent_view"]
    assert view["agent_description"]
    assert [(p["title"], p["message"]) for p in view["suggested_prompts"]] == list(
        texts.SUGGESTED_PROMPTS
    )
    assert "assistant_view" not in MANIFEST["features"]
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True


def test_agent_platform_event_and_search_scopes_are_declared() -> None:
    events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    # Without it Slack warns missing_agent_session_stopped_event_subscription and users
    # see a Stop button on the session that cannot stop anything.
    assert "agent_session_stopped" in events
    search = {f"search:read.{kind}" for kind in ("public", "private", "im", "mpim", "files")}
    assert search <= bot_scopes()
    assert METHOD_SCOPES["assistant.search.context"] <= bot_scopes()
    assert {"agents.sessions.setStatus", "assistant.search.context"} <= methods_the_bot_calls()
