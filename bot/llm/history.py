"""Fit a thread's history into the model's context budget, newest turns first.

Tokens are estimated, not counted: UTF-8 bytes / 3 overestimates English (about 4
characters a token) by a third and stays close for CJK and emoji, which is the safe side
for trimming. An exact tokenizer would need the model's encoding, which differs between
the servers this bot talks to, and tiktoken downloads its tables at run time.
"""

from __future__ import annotations

from typing import Any

from bot import messages as texts

PER_MESSAGE_OVERHEAD = 4


def estimate_tokens(text: str) -> int:
    """Estimate tokens on the safe (high) side."""
    return -(-len(text.encode("utf-8")) // 3) + PER_MESSAGE_OVERHEAD


def message_tokens(message: dict[str, Any]) -> int:
    """Estimate the tokens one chat message costs, tool calls included."""
    total = estimate_tokens(message.get("content") or "")
    for call in message.get("tool_calls") or ():
        function = call.get("function", {})
        total += estimate_tokens(function.get("name", "") + (function.get("arguments") or ""))
    return total


def sanitize(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep only valid sequences: every tool call answered by its result, no orphan results."""
    result: list[dict[str, Any]] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        if message["role"] == "tool":
            i += 1  # a result whose call is not kept
            continue
        calls = message.get("tool_calls")
        if message["role"] == "assistant" and calls:
            wanted = {call["id"] for call in calls}
            j = i + 1
            results = []
            while j < len(messages) and messages[j]["role"] == "tool":
                if messages[j].get("tool_call_id") in wanted:
                    results.append(messages[j])
                j += 1
            if {r["tool_call_id"] for r in results} == wanted:
                result.append(message)
                result.extend(results)
            elif message.get("content"):
                result.append({"role": "assistant", "content": message["content"]})
            i = j
            continue
        result.append(message)
        i += 1
    return result


def fit(system_prompt: str, messages: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """Return the system prompt plus the newest valid messages that fit `budget` tokens."""
    system = {"role": "system", "content": system_prompt}
    remaining = budget - message_tokens(system)
    messages = sanitize(messages)
    kept: list[dict[str, Any]] = []
    for message in reversed(messages):
        cost = message_tokens(message)
        if cost > remaining:
            if not kept:
                kept.append(_truncate(message, remaining))
            break
        kept.append(message)
        remaining -= cost
    kept.reverse()
    return [system, *sanitize(kept)]


def _truncate(message: dict[str, Any], tokens: int) -> dict[str, Any]:
    """Cut an oversized newest message so that the turn can still be answered."""
    keep_bytes = max(0, (tokens - PER_MESSAGE_OVERHEAD) * 3 - len(texts.TRUNCATED_INPUT.encode()))
    content = (message.get("content") or "").encode("utf-8")[:keep_bytes].decode("utf-8", "ignore")
    return {**message, "content": content + texts.TRUNCATED_INPUT}
