"""The model server: reachable, the model listed, streaming, usage, tool calls, the window.

At most four tiny requests: the model list, one streamed answer, one streamed tool call and
the follow-up that sends its result back (the shape of every tool round the bot makes).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import openai

from bot.llm.client import openai_client
from bot.llm.context_window import discover, fitting_budget
from bot.ops.doctor.report import Check, failed, ok, skipped
from bot.settings import Settings

TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_time",
        "description": "Return the current time.",
        "parameters": {"type": "object", "properties": {}},
    },
}
SYSTEM = {"role": "system", "content": "You are a test. Follow the instruction exactly."}


def _error(exc: Exception) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {str(exc.message)[:200]}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _fix_for(exc: Exception, settings: Settings) -> str:
    if isinstance(exc, openai.AuthenticationError):
        return "OPENAI_API_KEY is refused by the server: set a valid key"
    if isinstance(exc, openai.NotFoundError):
        return f"the server does not know {settings.openai_model!r}: set OPENAI_MODEL"
    if isinstance(exc, openai.APIConnectionError):
        where = settings.openai_base_url or "https://api.openai.com/v1"
        return f"nothing answers at {where}: start the server or fix OPENAI_BASE_URL"
    return "see the server's log for this error"


async def _stream(client: openai.AsyncOpenAI, **kwargs: Any) -> dict[str, Any]:
    """Stream one request; return what arrived (text, tool calls, usage, finish reason)."""
    seen: dict[str, Any] = {"text": "", "calls": [], "usage": None, "finish": None}
    stream = await client.chat.completions.create(
        stream=True, stream_options={"include_usage": True}, **kwargs
    )
    async for chunk in stream:
        if chunk.usage is not None:
            seen["usage"] = chunk.usage
        for choice in chunk.choices[:1]:
            delta = choice.delta
            seen["text"] += delta.content or ""
            seen["text"] += getattr(delta, "reasoning_content", None) or ""
            for call in delta.tool_calls or ():
                if call.function is not None and call.function.name:
                    seen["calls"].append(call)
            if choice.finish_reason:
                seen["finish"] = choice.finish_reason
    return seen


async def check_model(
    settings: Settings, session: aiohttp.ClientSession, *, tools_enabled: bool
) -> list[Check]:
    """Check the server and the model with a few tiny requests."""
    model = settings.openai_model
    client = openai_client(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        max_retries=0,
        timeout=min(settings.openai_timeout, 30.0),
    )
    try:
        return await _checks(settings, session, client, model, tools_enabled)
    finally:
        await client.close()


async def _checks(
    settings: Settings,
    session: aiohttp.ClientSession,
    client: openai.AsyncOpenAI,
    model: str,
    tools_enabled: bool,
) -> list[Check]:
    checks: list[Check] = []
    try:
        listed = [m.id async for m in client.models.list()]
    except openai.NotFoundError:
        checks.append(skipped("Model listed", "the server does not list its models"))
    except openai.APIError as exc:
        checks.append(failed("Model server reachable", _error(exc), _fix_for(exc, settings)))
        return checks
    else:
        checks.append(ok("Model server reachable", f"{len(listed)} models listed"))
        if model in listed:
            checks.append(ok("Model listed", model))
        else:
            shown = ", ".join(listed[:8]) + (", ..." if len(listed) > 8 else "")
            checks.append(
                failed(
                    "Model listed",
                    f"{model!r} is not among the server's models ({shown or 'none'})",
                    "set OPENAI_MODEL to one of the listed models",
                )
            )
    limit = {"max_tokens": 16} if not settings.max_output_tokens else {}
    try:
        seen = await _stream(
            client,
            model=model,
            messages=[SYSTEM, {"role": "user", "content": "Answer with the word OK."}],
            **limit,
        )
    except openai.APIError as exc:
        checks.append(failed("Streamed answer", _error(exc), _fix_for(exc, settings)))
        return checks
    checks.append(ok("Streamed answer", f"{len(seen['text'])} characters, {seen['finish']}"))
    checks.append(_usage_check(settings, seen["usage"]))
    if tools_enabled:
        checks.extend(await _tool_checks(client, model, limit))
    else:
        checks.append(skipped("Tool calls", "no tools are enabled"))
    checks.append(await _window_check(settings, session, model))
    return checks


def _usage_check(settings: Settings, usage: Any) -> Check:
    if usage is not None:
        return ok("Usage in the stream", f"{usage.total_tokens} tokens reported")
    limits = (
        settings.usage_limit_user_daily_tokens,
        settings.usage_limit_channel_daily_tokens,
        settings.usage_limit_team_monthly_tokens,
    )
    if any(limits):
        return failed(
            "Usage in the stream",
            "the server does not report token usage when streaming",
            "usage limits then count estimated tokens; use a server that honours "
            "stream_options.include_usage (vLLM, llama.cpp, OpenAI do)",
        )
    return ok("Usage in the stream", "not reported: token counts are estimated")


async def _tool_checks(
    client: openai.AsyncOpenAI, model: str, limit: dict[str, int]
) -> list[Check]:
    ask = {"role": "user", "content": "Call the get_current_time tool now."}
    try:
        seen = await _stream(client, model=model, messages=[SYSTEM, ask], tools=[TOOL])
    except openai.APIError as exc:
        return [
            failed(
                "Tool calls",
                f"the server refuses a request with tools ({_error(exc)})",
                "enable tool calling on the server (llama.cpp: --jinja; vLLM: "
                "--enable-auto-tool-choice --tool-call-parser ...), or set BUILTIN_TOOLS=false",
            ),
            skipped("Chat template", "needs a tool call"),
        ]
    if not seen["calls"]:
        return [
            failed(
                "Tool calls",
                "the model answered in text instead of calling the tool",
                "this model or server does not stream tool calls: pick a model that does, "
                "or set BUILTIN_TOOLS=false and leave TOOL_MODULES and MCP_SERVERS empty",
            ),
            skipped("Chat template", "needs a tool call"),
        ]
    call = seen["calls"][0]
    checks = [ok("Tool calls", f"{call.function.name} called while streaming")]
    follow = [
        SYSTEM,
        ask,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.id or "call_0",
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.id or "call_0", "content": "12:00"},
    ]
    try:
        await _stream(client, model=model, messages=follow, tools=[TOOL], **limit)
    except openai.APIError as exc:
        checks.append(
            failed(
                "Chat template",
                f"the server refuses a tool result sent back ({_error(exc)})",
                "the model's chat template cannot take tool rounds: use a template that does "
                "(llama.cpp: --jinja --chat-template-file), or turn tools off",
            )
        )
    else:
        checks.append(ok("Chat template", "takes a tool round and its result"))
    return checks


async def _window_check(settings: Settings, session: aiohttp.ClientSession, model: str) -> Check:
    base = settings.openai_base_url or "https://api.openai.com/v1"
    found = await discover(session, base, model, settings.openai_api_key)
    if found is None:
        return skipped("Context window", "the server does not report it")
    window, where = found
    budget = settings.history_token_budget
    fits = fitting_budget(window, settings.max_output_tokens, budget)
    if "history_token_budget" not in settings.model_fields_set:
        return ok("Context window", f"{window} tokens ({where}): history budget {fits}")
    if budget > fits:
        return failed(
            "Context window",
            f"HISTORY_TOKEN_BUDGET={budget} leaves no room in the server's {window} tokens",
            f"set HISTORY_TOKEN_BUDGET to {fits} or less, or unset it to follow the window",
        )
    return ok("Context window", f"{window} tokens ({where}); HISTORY_TOKEN_BUDGET={budget} fits")
