"""The rules strict chat templates enforce, checked on every request the fake model receives.

Written independently of `bot.llm.template` (which shapes requests) so a test cannot pass by
checking the bot against itself. The rules are those of the templates that real servers
apply (Gemma, Mistral, Llama, Qwen, as rendered by llama-server `--jinja`, vLLM, Ollama):

- at most one system message, and only first;
- after it, user and assistant alternate, starting with user, where (as in Mistral's
  template) tool results and assistant messages that carry `tool_calls` do not count;
- a tool message only right after the assistant message whose `tool_calls` holds its
  `tool_call_id` (or after another result of the same round), each call answered once;
- the request ends with a user turn, or with tool results the model goes on from.
"""

from __future__ import annotations

from typing import Any


def violations(messages: list[dict[str, Any]]) -> list[str]:
    """Return what a strict chat template would refuse in `messages` (empty: accepted)."""
    found: list[str] = []
    if not messages:
        return ["no messages"]
    for i, message in enumerate(messages):
        if message.get("role") == "system" and i != 0:
            found.append(f"system message at position {i}: only one, first, is allowed")
    expected = "user"
    pending: set[str] = set()  # calls of the current round still unanswered
    last_counted = None
    for i, message in enumerate(messages):
        role = message.get("role")
        if role == "system":
            continue
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                found.append(f"tool message at {i} does not follow its tool call ({call_id})")
            pending.discard(call_id)
            continue
        if pending:
            found.append(f"tool calls {sorted(pending)} unanswered before message {i}")
            pending = set()
        if role == "assistant" and message.get("tool_calls"):
            if expected != "assistant":
                found.append(f"tool calls at {i} without a user turn before them")
            pending = {call.get("id") for call in message["tool_calls"]}
            last_counted = "tool_calls"
            continue
        if role not in ("user", "assistant"):
            found.append(f"unknown role {role!r} at {i}")
            continue
        if role != expected:
            found.append(
                "Conversation roles must alternate user/assistant/user/assistant/... "
                f"(message {i} is {role}, expected {expected})"
            )
        expected = "assistant" if role == "user" else "user"
        last_counted = role
    ends_with_results = messages[-1].get("role") == "tool" and not pending
    if pending:
        found.append(f"tool calls {sorted(pending)} unanswered at the end")
    elif last_counted != "user" and not ends_with_results:
        found.append(f"the request ends with {messages[-1].get('role')}, not a user turn")
    return found
