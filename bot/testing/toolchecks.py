"""Build tool-call chunks as gateways send them, and read tool exchanges back from requests."""

from __future__ import annotations

import json
from typing import Any

from bot.testing.harness import Harness, text_of
from bot.testing.openai import Reply, text_reply, tool_call_reply

Json = dict[str, Any]
START = {"delta": {"role": "assistant", "content": None}, "finish_reason": None}


def frag(
    index: int | None = None,
    id: str | None = None,  # noqa: A002 - the wire field's name
    name: str | None = None,
    arguments: str | None = None,
    *,
    omit_arguments: bool = False,
) -> Json:
    """Return one `delta.tool_calls[i]` entry; None fields are left out (index) or null."""
    entry: Json = {}
    if index is not None:
        entry["index"] = index
    if id is not None:
        entry["id"] = id
        entry["type"] = "function"
    function: Json = {}
    if name is not None:
        function["name"] = name
    if not omit_arguments:
        function["arguments"] = arguments
    entry["function"] = function
    return entry


def chunk(*fragments: Json, content: str | None = None, finish: str | None = None) -> Json:
    """Return one streamed chunk carrying these tool-call fragments."""
    delta: Json = {}
    if content is not None:
        delta["content"] = content
    if fragments:
        delta["tool_calls"] = list(fragments)
    return {"delta": delta, "finish_reason": finish}


def tool_round(*chunks: Json, finish: str = "tool_calls") -> Reply:
    """Return a scripted response: the role chunk, these chunks, and the finish chunk."""
    return Reply(chunks=[START, *chunks, {"delta": {}, "finish_reason": finish}])


def exchanges(messages: list[Json]) -> list[tuple[Json, list[Json]]]:
    """Return each assistant tool-call message with the tool results that follow it."""
    found: list[tuple[Json, list[Json]]] = []
    for i, message in enumerate(messages):
        if message["role"] == "assistant" and message.get("tool_calls"):
            results = []
            for after in messages[i + 1 :]:
                if after["role"] != "tool":
                    break
                results.append(after)
            found.append((message, results))
    return found


def assert_valid_tool_sequence(messages: list[Json]) -> None:
    """Every tool call is followed by exactly its results; no result without its call."""
    i = 0
    while i < len(messages):
        message = messages[i]
        assert message["role"] != "tool", f"orphan tool result at {i}: {message}"
        calls = message.get("tool_calls") or []
        if calls:
            ids = [call["id"] for call in calls]
            assert len(set(ids)) == len(ids), f"duplicate tool call ids: {ids}"
            results = messages[i + 1 : i + 1 + len(ids)]
            assert [r["role"] for r in results] == ["tool"] * len(ids), messages[i:]
            assert sorted(r["tool_call_id"] for r in results) == sorted(ids)
            i += len(ids)
        i += 1


def results_by_name(request: Json) -> dict[str, list[str]]:
    """Map tool name to the result texts sent back to the model in this request."""
    out: dict[str, list[str]] = {}
    for assistant, results in exchanges(request["messages"]):
        names = {call["id"]: call["function"]["name"] for call in assistant["tool_calls"]}
        for result in results:
            out.setdefault(names[result["tool_call_id"]], []).append(result["content"])
    return out


def last_calls(request: Json) -> list[tuple[str, Any]]:
    """Return (name, parsed arguments) of the newest assistant tool calls in a request."""
    assistant, _ = exchanges(request["messages"])[-1]
    return [
        (call["function"]["name"], json.loads(call["function"]["arguments"]))
        for call in assistant["tool_calls"]
    ]


HOME = "https://fake-workspace.slack.com"  # what the fake's auth.test answers


async def results(bot: Harness, calls: list[tuple[str, str, str]], *, event=None) -> dict:
    """Let the model make `calls`, finish the turn, return the tool results by name."""
    bot.llm.script(tool_call_reply(calls), text_reply("Answered."))
    if event is None:
        event = await bot.mention("please use your tools")
    else:
        await bot.send(event)
    await bot.slack.wait_for(
        lambda: any(text_of(m) == "Answered." for m in bot.slack.bot_messages(event["channel"]))
    )
    return results_by_name(bot.llm.requests[-1])


def link(channel: str, ts: str, thread_ts: str | None = None, host: str = HOME) -> str:
    url = f"{host}/archives/{channel}/p{ts.replace('.', '')}"
    return url + (f"?thread_ts={thread_ts}&cid={channel}" if thread_ts else "")
