"""Read a chat-completion event stream as plain dicts, without the SDK's per-chunk models.

The openai SDK builds a typed object for every chunk (its `construct_type` walks the model's
fields through `typing` and `inspect` each time); at tens of chunks a second per reply that
was most of the bot's CPU (bench/FINDINGS.md). The request itself still goes through the
SDK (`with_streaming_response`), so building it, retrying it and raising typed status errors
stay the SDK's; only the body is read here: server-sent events split on blank lines, `data:`
lines decoded with `json.loads`, `[DONE]` ending the stream.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from typing import Any

import anyio
import openai

from bot import texts
from bot.llm.errors import ModelError, http_transport

DRAIN_TIMEOUT = 0.1  # after [DONE], how long to read what is left so the connection is reused
# One event (its unfinished line plus its data lines) may hold this much; a server whose line
# never ends must not grow the buffers without limit. Real chunks are a few hundred bytes.
MAX_EVENT_BYTES = 4 * 1024 * 1024


def _too_large(size: int) -> ModelError:
    return ModelError(texts.MODEL_EVENT_TOO_LARGE, detail=f"an event over {size} bytes")


async def read_events(response: Any) -> AsyncIterator[dict[str, Any]]:
    """Yield the JSON payloads of one streamed response (httpx2.Response); `[DONE]` ends it."""
    pending = bytearray()  # appended in place: a long line costs linear time
    data: list[bytes] = []
    held = 0  # bytes in `data`
    # An unencoded body (the usual case) is read raw: aiter_bytes would only add a
    # decoder and a re-chunker per read.
    encoded = response.headers.get("content-encoding", "identity") != "identity"
    blocks = response.aiter_bytes() if encoded else response.aiter_raw()
    try:
        async for block in blocks:
            pending += block
            if b"\n" not in block:
                if len(pending) + held > MAX_EVENT_BYTES:
                    raise _too_large(MAX_EVENT_BYTES)
                continue
            *lines, rest = bytes(pending).split(b"\n")
            pending = bytearray(rest)
            for line in lines:
                if line[-1:] == b"\r":
                    line = line[:-1]
                if line[:5] == b"data:":
                    value = line[6:] if line[5:6] == b" " else line[5:]
                    data.append(value)
                    held += len(value)
                    if held + len(pending) > MAX_EVENT_BYTES:
                        raise _too_large(MAX_EVENT_BYTES)
                elif not line and data:
                    payload = data[0] if len(data) == 1 else b"\n".join(data)
                    data, held = [], 0
                    if payload == b"[DONE]":
                        await _drain(blocks)
                        return
                    event = _decode(payload, response)
                    if event is not None:
                        yield event
                # event:, id:, retry: and ": comments" carry nothing we use
    except http_transport.TimeoutException as exc:
        raise openai.APITimeoutError(request=response.request) from exc
    except (http_transport.RequestError, ssl.SSLError, anyio.EndOfStream) as exc:
        raise openai.APIConnectionError(request=response.request) from exc
    # The body ended. An event still open (no blank line after it) is complete only if its
    # last line was: a cut mid-line is dropped, and the missing finish reason tells the
    # caller the stream broke.
    if data and not pending:
        payload = b"\n".join(data)
        if payload != b"[DONE]":
            event = _decode(payload, response)
            if event is not None:
                yield event


def _decode(payload: bytes, response: Any) -> dict[str, Any] | None:
    """Return one event's JSON object; raise what an error event says (once per delta: lean)."""
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise openai.APIError(
            "the model server sent an event that is not JSON", request=response.request, body=None
        ) from exc
    if type(event) is not dict:  # json.loads makes no subclasses
        return None
    if "error" not in event and event.get("object") != "error":
        return event  # the usual chunk; a choice's finish_reason "error" is the reader's to see
    if event.get("object") == "error" or _failed_choice(event):
        # vLLM's mid-stream error object, OpenRouter's error with finish_reason "error": the
        # model failed and says so; resuming would only fail again.
        nested = event.get("error")
        source: dict[str, Any] = nested if isinstance(nested, dict) else event
        raise ModelError(texts.MODEL_ERROR, detail=str(source.get("message") or "")[:200])
    error = event.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else None
        raise openai.APIError(
            message if isinstance(message, str) and message else "error during streaming",
            request=response.request,
            body=error,
        )
    return event


def _failed_choice(event: dict[str, Any]) -> bool:
    choices = event.get("choices")
    if not isinstance(choices, list):
        return False
    return any(isinstance(c, dict) and c.get("finish_reason") == "error" for c in choices)


async def _drain(blocks: AsyncIterator[bytes]) -> None:
    """Read the rest of the body briefly so HTTP/1.1 can reuse the connection."""
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT):
            async for _ in blocks:
                pass
    except (TimeoutError, http_transport.HTTPError, ssl.SSLError, anyio.EndOfStream):
        pass  # cleanup must not turn a finished answer into an error
