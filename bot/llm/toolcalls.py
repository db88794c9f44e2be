"""Assemble streamed tool-call fragments into whole calls, tolerating gateway quirks.

Real servers send `delta.tool_calls[i]` with `index` on every fragment and `id`/`name` on
the first. Gateways differ: `index` missing, every parallel call on index 0 with distinct
ids, the whole arguments string at once, `arguments: null`, or a call repeated verbatim.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from bot.llm.events import ToolCall


@dataclass(slots=True)
class _Partial:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def args_text(self) -> str:
        return "".join(self.arguments)


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _whole(call: _Partial) -> bool:
    """Tell whether a call's arguments so far already parse as JSON."""
    try:
        json.loads(call.args_text())
    except ValueError:
        return False
    return True


class ToolCallAssembler:
    """Feed `delta.tool_calls` fragments in; take finished calls out."""

    def __init__(self) -> None:
        self._calls: list[_Partial] = []
        self._by_index: dict[int, int] = {}

    def __bool__(self) -> bool:
        return bool(self._calls)

    def feed(self, fragments: Any) -> None:
        """Add the tool-call fragments of one chunk."""
        for fragment in fragments or ():
            self._feed_one(fragment)

    def _feed_one(self, fragment: Any) -> None:
        index = _get(fragment, "index")
        call_id = _get(fragment, "id")
        function = _get(fragment, "function")
        name = _get(function, "name") if function is not None else None
        arguments = _get(function, "arguments") if function is not None else None
        current = self._target(index, call_id, name)
        if call_id and not current.id:
            current.id = call_id
        if name and not current.name:
            current.name = name
        if arguments:
            current.arguments.append(arguments)

    def _target(self, index: int | None, call_id: str | None, name: str | None) -> _Partial:
        if call_id:
            existing = next((c for c in self._calls if c.id == call_id), None)
            # The same id with its name again after whole arguments is a repeated call
            # (dropped in finish); before that it is a gateway naming every fragment.
            if existing is not None and not (name and existing.name and _whole(existing)):
                return self._remember(index, existing)
            return self._new(index)
        if index is not None and index in self._by_index:
            current = self._calls[self._by_index[index]]
            # Names come only on a call's first fragment: a second one starts the next call
            # (gateways that put every parallel call on index 0).
            if name and current.name:
                return self._new(index)
            return current
        last = self._calls[-1] if self._calls else None
        if last is None or index is not None or (name and last.name):
            return self._new(index)
        return last

    def _new(self, index: int | None) -> _Partial:
        self._calls.append(_Partial())
        return self._remember(index, self._calls[-1])

    def _remember(self, index: int | None, call: _Partial) -> _Partial:
        if index is not None:
            self._by_index[index] = self._calls.index(call)
        return call

    def finish(self) -> tuple[ToolCall, ...]:
        """Return the assembled calls, dropping verbatim repeats and naming nameless ids."""
        seen: set[tuple[str, str, str]] = set()
        seen_ids: set[str] = set()
        result: list[ToolCall] = []
        for partial in self._calls:
            if not partial.name:
                continue
            arguments = partial.args_text() or "{}"
            call_id = partial.id or f"call_{uuid.uuid4().hex[:24]}"
            signature = (partial.id or "", partial.name, arguments)
            if signature in seen or (partial.id and partial.id in seen_ids):
                continue
            seen.add(signature)
            seen_ids.add(call_id)
            result.append(ToolCall(id=call_id, name=partial.name, arguments=arguments))
        return tuple(result)
