"""Assemble streamed tool-call fragments into whole calls, tolerating gateway quirks.

Real servers send `delta.tool_calls[i]` with `index` on every fragment and `id`/`name` on
the first, then argument fragments to concatenate. Gateways differ: `index` missing, every
parallel call on index 0 (with distinct ids, or with none), the whole arguments string at
once, `arguments: null` for a call without arguments, the name repeated on every fragment,
or a call (or its whole arguments) sent again verbatim. A call's arguments are complete
once they parse as JSON, which tells a new call from a fragment of the current one.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from bot.llm.events import ToolCall

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Partial:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    extra: dict[str, Any] | None = None  # provider fields on the call (Gemini's extra_content)

    def args_text(self) -> str:
        return "".join(self.arguments)

    def complete(self) -> bool:
        """Tell whether the arguments so far already form a whole JSON value."""
        text = self.args_text()
        if not text.strip():
            return False
        try:
            json.loads(text)
        except ValueError:
            return False
        return True


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _canonical(arguments: str) -> str:
    """Return arguments in a form where equal JSON compares equal."""
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except ValueError:
        return arguments


class ToolCallAssembler:
    """Feed `delta.tool_calls` fragments in; take finished calls out."""

    def __init__(self) -> None:
        self._calls: list[_Partial] = []
        self._by_index: dict[int, _Partial] = {}

    def __bool__(self) -> bool:
        return bool(self._calls)

    def feed(self, fragments: Any) -> None:
        """Add the tool-call fragments of one chunk."""
        for fragment in fragments or ():
            self._feed_one(fragment)

    def _feed_one(self, fragment: Any) -> None:
        index = _get(fragment, "index")
        index = index if isinstance(index, int) else None
        call_id = _get(fragment, "id") or None
        function = _get(fragment, "function")
        name = (_get(function, "name") if function is not None else None) or None
        arguments = _get(function, "arguments") if function is not None else None
        current = self._target(index, call_id, name)
        if index is not None:
            self._by_index[index] = current
        if call_id and not current.id:
            current.id = call_id
        if name and not current.name:
            current.name = name
        extra_content = _get(fragment, "extra_content")
        if isinstance(extra_content, dict) and extra_content:
            current.extra = {"extra_content": extra_content}
        if not isinstance(arguments, str) or not arguments:
            return  # `arguments: null` (or missing) adds nothing
        if current.complete() and _canonical(arguments) == _canonical(current.args_text()):
            return  # the whole arguments sent again for a call that already has them
        current.arguments.append(arguments)

    def _target(self, index: int | None, call_id: str | None, name: str | None) -> _Partial:
        """Pick the call a fragment belongs to, starting a new one when it begins a call."""
        if call_id:
            existing = next((c for c in self._calls if c.id == call_id), None)
            # The same id with its name again after complete arguments is a repeated call
            # (dropped in finish); before that it is a gateway naming every fragment.
            if existing is not None and not (name and existing.complete()):
                return existing
            return self._new()
        if index is not None:
            current = self._by_index.get(index)
        else:
            current = self._calls[-1] if self._calls else None
        if current is None or self._starts_another(current, name):
            return self._new()
        return current

    @staticmethod
    def _starts_another(current: _Partial, name: str | None) -> bool:
        """Tell whether a named fragment begins a new call rather than continuing `current`."""
        if not name or not current.name:
            return False
        return name != current.name or current.complete()

    def _new(self) -> _Partial:
        self._calls.append(_Partial())
        return self._calls[-1]

    def finish(self) -> tuple[ToolCall, ...]:
        """Return the assembled calls, dropping verbatim repeats and naming nameless ids."""
        kept: list[tuple[_Partial, str]] = []
        result: list[ToolCall] = []
        for partial in self._calls:
            if not partial.name:
                logger.warning("dropping a tool call fragment without a function name")
                continue
            arguments = partial.args_text() or "{}"
            canonical = _canonical(arguments)
            if any(_repeats(partial, canonical, earlier, seen) for earlier, seen in kept):
                logger.info("dropping a repeated tool call %s", partial.name)
                continue
            kept.append((partial, canonical))
            call_id = partial.id or f"call_{uuid.uuid4().hex[:24]}"
            result.append(
                ToolCall(id=call_id, name=partial.name, arguments=arguments, extra=partial.extra)
            )
        return tuple(result)


def _repeats(partial: _Partial, canonical: str, earlier: _Partial, seen: str) -> bool:
    """Tell whether `partial` is a verbatim repeat of an earlier call (or reuses its id)."""
    if partial.id and partial.id == earlier.id:
        return True
    same_call = partial.name == earlier.name and canonical == seen
    return same_call and not (partial.id and earlier.id)
