"""Fit a thread's history into the model's context budget, newest turns first.

Tokens are estimated, not counted: UTF-8 bytes / 3 overestimates English (about 4
characters a token) by a third and stays close for CJK and emoji, which is the safe side
for trimming. An exact tokenizer would need the model's encoding, which differs between
the servers this bot talks to, and tiktoken downloads its tables at run time.
"""

from __future__ import annotations

from typing import Any

from bot import texts

PER_MESSAGE_OVERHEAD = 4
IMAGE_TOKENS = 1100  # an image part, about what a 2,048 px image costs at high detail


def estimate_tokens(text: str) -> int:
    """Estimate tokens on the safe (high) side."""
    return -(-len(text.encode("utf-8")) // 3) + PER_MESSAGE_OVERHEAD


def message_tokens(message: dict[str, Any]) -> int:
    """Estimate the tokens one chat message costs, tool calls included."""
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts: text and images (bot/files/parts.py)
        text = "".join(p.get("text", "") for p in content if p.get("type") == "text")
        images = sum(1 for p in content if p.get("type") == "image_url")
        total = estimate_tokens(text) + IMAGE_TOKENS * images
    else:
        total = estimate_tokens(content)
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
    """Return the system prompt plus the newest valid messages that fit `budget` tokens.

    An assistant message with tool calls and its results are kept or dropped together. The
    current turn (the newest user message and the tool rounds after it) is kept first: its
    tool results are cut to fit rather than losing the question they answer. A trimmed
    history starts with a user message.
    """
    system = {"role": "system", "content": system_prompt}
    remaining = budget - message_tokens(system)
    units = _units(sanitize(messages))
    asked = max((i for i, unit in enumerate(units) if unit[0]["role"] == "user"), default=-1)
    reserve = _cost(units[asked]) if asked >= 0 else 0  # the question, kept for last
    kept: list[list[dict[str, Any]]] = []
    for i in range(len(units) - 1, -1, -1):
        unit = units[i]
        if i == asked:
            reserve = 0  # the question's own room (`remaining` never had it taken out)
        room = remaining - reserve
        if _cost(unit) > room:
            if i > asked and unit[0].get("tool_calls"):
                unit = _shrink_results(unit, room) or []  # a round of this turn, cut to fit
            elif not kept or i == asked:
                unit = [_truncate(unit[-1], room)]  # the question itself, cut to fit
            else:
                break
            if not unit:
                continue
        kept.insert(0, unit)
        remaining -= _cost(unit)
    if len(kept) < len(units):
        # Trimmed: an answer whose question was dropped would open the conversation with
        # the assistant, which strict chat templates refuse; it goes too.
        while len(kept) > 1 and kept[0][0]["role"] != "user":
            kept.pop(0)
    return [system, *sanitize([m for unit in kept for m in unit])]


def _units(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Group an assistant message with tool calls and its results into one unit."""
    units: list[list[dict[str, Any]]] = []
    for message in messages:
        if message["role"] == "tool" and units and units[-1][0].get("tool_calls"):
            units[-1].append(message)
        else:
            units.append([message])
    return units


def _cost(unit: list[dict[str, Any]]) -> int:
    return sum(message_tokens(m) for m in unit)


def _shrink_results(unit: list[dict[str, Any]], tokens: int) -> list[dict[str, Any]] | None:
    """Cut a tool round's results to share `tokens`; None when even the calls do not fit."""
    call, results = unit[0], unit[1:]
    share = (tokens - message_tokens(call)) // max(1, len(results))
    if share < PER_MESSAGE_OVERHEAD + len(texts.TRUNCATED_INPUT) // 3 + 1:
        return None
    shrunk = [r if message_tokens(r) <= share else _truncate(r, share) for r in results]
    return [call, *shrunk]


def _truncate(message: dict[str, Any], tokens: int) -> dict[str, Any]:
    """Cut an oversized newest message so that the turn can still be answered."""
    content = message.get("content") or ""
    if isinstance(content, list):  # cut the text; keep the images that fit
        images = [p for p in content if p.get("type") == "image_url"]
        images = images[: max(0, tokens // 2) // IMAGE_TOKENS]
        text = "".join(p.get("text", "") for p in content if p.get("type") == "text")
        cut = _truncate({"content": text}, tokens - IMAGE_TOKENS * len(images))["content"]
        return {**message, "content": [{"type": "text", "text": cut}, *images]}
    keep_bytes = max(0, (tokens - PER_MESSAGE_OVERHEAD) * 3 - len(texts.TRUNCATED_INPUT.encode()))
    content = content.encode("utf-8")[:keep_bytes].decode("utf-8", "ignore")
    return {**message, "content": content + texts.TRUNCATED_INPUT}
