"""`tool`: declare a tool once, as a typed function; name, description and schema follow."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import re
import typing
from collections.abc import Callable
from typing import Any, overload

from bot.tools.registry import Tool, ToolContext
from bot.tools.schema import parse_docstring, type_schema, validator

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    needs_approval: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    needs_approval: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a Tool from a typed (async) function: `@tool` or `@tool(name=..., timeout=...)`.

    `needs_approval=True` makes each call wait for a person's Approve (a tool that changes things).
    """

    def build(f: Callable[..., Any]) -> Tool:
        return make_tool(
            f, name=name, description=description, timeout=timeout, needs_approval=needs_approval
        )

    return build(func) if func is not None else build


def make_tool(
    func: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    needs_approval: bool = False,
) -> Tool:
    """Build a Tool from `func`'s signature, type hints and docstring."""
    tool_name = name or func.__name__
    if not NAME.match(tool_name):
        raise ValueError(f"tool name {tool_name!r} must match {NAME.pattern}")
    summary, notes = parse_docstring(func)
    hints = typing.get_type_hints(func, include_extras=True)
    properties: dict[str, Any] = {}
    required: list[str] = []
    validated: dict[str, Any] = {}
    context_param: str | None = None
    for param in inspect.signature(func).parameters.values():
        hint = hints.get(param.name, inspect.Parameter.empty)
        if hint is ToolContext:
            context_param = param.name
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise TypeError(f"tool {tool_name}: parameter {param.name} must be a plain keyword")
        if hint is inspect.Parameter.empty:
            raise TypeError(f"tool {tool_name}: parameter {param.name} needs a type annotation")
        schema = type_schema(hint)
        if param.name in notes and "description" not in schema:
            schema["description"] = notes[param.name]
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
        elif param.default is not None and _json_safe(param.default):
            schema["default"] = param.default
        properties[param.name] = schema
        validated[param.name] = hint
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    return Tool(
        name=tool_name,
        description=description or summary or tool_name.replace("_", " "),
        parameters=parameters,
        func=_as_async(func),
        context_param=context_param,
        timeout=timeout,
        validate=validator(validated, set(required)),
        needs_approval=needs_approval,
    )


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _as_async(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a plain function in a worker thread so that it cannot block the event loop."""
    if inspect.iscoroutinefunction(func):
        return func

    @functools.wraps(func)
    async def run_in_thread(*args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(func, *args, **kwargs)

    return run_in_thread
