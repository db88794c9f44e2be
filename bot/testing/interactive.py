"""Build the interactivity payloads Slack sends: button clicks and modal submissions."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1)


def element(message: dict[str, Any], action_id: str) -> dict[str, Any] | None:
    """Return the interactive element with `action_id` in a fake-Slack message, if shown."""
    for block in message.get("blocks") or ():
        for item in block.get("elements") or ():
            if isinstance(item, dict) and item.get("action_id") == action_id:
                return item
    return None


def click(
    message: dict[str, Any], action_id: str, *, user: str = "U1", positive: bool = True
) -> dict[str, Any]:
    """Return the `block_actions` payload of a user clicking a button shown in `message`."""
    found = element(message, action_id)
    assert found is not None, f"no {action_id} in the message: {message.get('blocks')}"
    if found["type"] == "feedback_buttons":
        value = found["positive_button" if positive else "negative_button"]["value"]
    else:
        value = found["value"]
    n = next(_ids)
    action = {
        "type": found["type"],
        "action_id": action_id,
        "block_id": f"b{n}",
        "value": value,
        "action_ts": f"1700000000.{n:06d}",
    }
    thread_ts = message.get("thread_ts") or message["ts"]
    return {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "verification-token",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": message["channel"],
            "is_ephemeral": False,
            "thread_ts": thread_ts,
        },
        "trigger_id": f"trig.{n}",
        "channel": {"id": message["channel"], "name": "general"},
        "message": {
            "type": "message",
            "ts": message["ts"],
            "thread_ts": thread_ts,
            "text": message.get("text") or "",
            "bot_id": message.get("bot_id"),
            "blocks": message.get("blocks") or [],
        },
        "response_url": f"https://hooks.example/actions/{n}",
        "actions": [action],
    }


def modal_values(
    *,
    preset: str = "default",
    language: str = "",
    system_prompt: str = "",
    model: str = "",
    temperature: str = "",
) -> dict[str, Any]:
    """Return a settings modal's `state.values` as Slack sends them."""

    def text(value: str) -> dict[str, Any]:
        return {"value": {"type": "plain_text_input", "value": value or None}}

    return {
        "preset": {
            "value": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": preset},
                    "value": preset,
                },
            }
        },
        "language": text(language),
        "system_prompt": text(system_prompt),
        "model": text(model),
        "temperature": {"value": {"type": "number_input", "value": temperature or None}},
    }


def submit(view: dict[str, Any], values: dict[str, Any], *, user: str = "U1") -> dict[str, Any]:
    """Return the `view_submission` payload for the modal `view` filled with `values`."""
    n = next(_ids)
    return {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "verification-token",
        "trigger_id": f"trig.{n}",
        "view": {
            **view,
            "id": f"V{n}",
            "team_id": "T1",
            "state": {"values": values},
            "hash": f"h{n}",
            "app_id": "A1",
            "bot_id": "BBOT",
        },
    }
