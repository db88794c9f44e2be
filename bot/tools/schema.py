"""Turn a typed Python signature and its docstring into a tool's JSON schema and validator.

Supported parameter types: str, int, float, bool, Literal[...], X | None (Optional), list[X]
and Annotated[X, "description"]. A docstring's first part is the tool's description; an
`Args:` section (Google style, `name: text` or `name (type): text`) describes parameters.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import TypeAdapter, ValidationError

from bot.errors import BotError

_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Params)\s*:\s*$", re.IGNORECASE)
_OTHER_SECTION = re.compile(r"^\s*(Returns|Return|Raises|Yields|Examples?|Notes?)\s*:\s*$", re.I)
_PARAM = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


class ToolArgumentError(BotError, ValueError):
    """The model's arguments do not fit the tool's parameters."""


def type_schema(annotation: Any) -> dict[str, Any]:
    """Return the JSON schema of one parameter type, or raise TypeError when unsupported."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        described = type_schema(base)
        notes = [e for e in extra if isinstance(e, str)]
        return {**described, "description": " ".join(notes)} if notes else described
    if annotation in _SCALARS:
        return {"type": _SCALARS[annotation]}
    if origin is Literal:
        values = list(get_args(annotation))
        kinds = {_SCALARS.get(type(v)) for v in values}
        schema: dict[str, Any] = {"enum": values}
        if len(kinds) == 1 and None not in kinds:
            schema = {"type": kinds.pop(), **schema}
        return schema
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return type_schema(options[0])
        return {"anyOf": [type_schema(a) for a in options]}
    if annotation is list or origin is list:
        items = get_args(annotation)
        return {"type": "array", "items": type_schema(items[0])} if items else {"type": "array"}
    raise TypeError(f"unsupported tool parameter type {annotation!r}")


def parse_docstring(func: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """Split a docstring into the description and per-parameter notes."""
    doc = inspect.getdoc(func) or ""
    description: list[str] = []
    params: dict[str, str] = {}
    current: str | None = None
    indent: int | None = None  # of the parameter lines; deeper lines continue one
    section = "description"
    for line in doc.splitlines():
        if _SECTION.match(line):
            section, current, indent = "args", None, None
        elif _OTHER_SECTION.match(line):
            section, current = "other", None
        elif section == "description":
            description.append(line)
        elif section == "args" and line.strip():
            depth = len(line) - len(line.lstrip())
            match = _PARAM.match(line)
            if match and (indent is None or depth <= indent):
                indent, current = depth, match.group(1)
                params[current] = match.group(2).strip()
            elif current:
                params[current] = f"{params[current]} {line.strip()}".strip()
    return " ".join(" ".join(description).split()), params


def validator(
    hints: dict[str, Any], required: set[str]
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build a function that checks and coerces the model's arguments for these parameters."""
    adapters = {name: TypeAdapter(hint) for name, hint in hints.items()}

    def validate(arguments: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(arguments) - set(adapters))
        missing = sorted(required - set(arguments))
        problems = [f"unknown parameter {name!r}" for name in unknown]
        problems += [f"missing required parameter {name!r}" for name in missing]
        clean: dict[str, Any] = {}
        for name, value in arguments.items():
            if name not in adapters:
                continue
            try:
                clean[name] = adapters[name].validate_python(value)
            except ValidationError as exc:
                reason = "; ".join(err["msg"] for err in exc.errors())
                problems.append(f"{name!r}: {reason}")
        if problems:
            expected = ", ".join(adapters) or "no parameters"
            raise ToolArgumentError("; ".join(problems) + f" (expected: {expected})")
        return clean

    return validate
