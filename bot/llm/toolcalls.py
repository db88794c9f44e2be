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


MAX_ARGUMENT_CHARS = 100_000  # kept per call; a longer call is not run (ToolCall.problem)
MAX_CALLS = 64  # calls kept per response; beyond this, fragments starting new calls are dropped
MAX_NAME_CHARS = 128  # a longer (made-up) tool name is cut; it is refused as unknown anyway


@dataclass(slots=True)
class _Partial:
    """One call being assembled; its arguments are scanned once, as they arrive."""

    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    size: int = 0
    oversized: bool = False
    # Incremental scan of the arguments: bracket depth outside strings, so that telling
    # whether they already form a whole JSON object costs O(fragment), not O(all so far).
    _depth: int = 0
    _in_string: bool = False
    _escaped: bool = False
    _opened: bool = False  # the first non-space character was `{` or `[`
    _closed: bool = False  # the top-level value ended (and nothing but spaces followed)
    _broken: bool = False  # not a single JSON object or array, whatever comes next
    _verdict: tuple[int, bool] | None = None  # (size, parses) of the last full check
    extra: dict[str, Any] | None = None  # provider fields on the call (Gemini's extra_content)

    def args_text(self) -> str:
        return "".join(self.arguments)

    def add(self, text: str) -> None:
        """Append an arguments fragment (up to the size cap) and scan it."""
        if self.oversized:
            return
        if self.size + len(text) > MAX_ARGUMENT_CHARS:
            self.oversized = True
            self.arguments = []
            return
        self.arguments.append(text)
        self.size += len(text)
        self._scan(text)

    def _scan(self, text: str) -> None:
        for ch in text:
            if self._broken:
                return
            if self._in_string:
                if self._escaped:
                    self._escaped = False
                elif ch == "\\":
                    self._escaped = True
                elif ch == '"':
                    self._in_string = False
            elif ch in " \t\r\n":
                continue
            elif self._closed:
                self._broken = True  # something after a whole value: never valid again
            elif not self._opened:
                self._opened = ch in "{["
                self._broken = not self._opened
                self._depth = 1
            elif ch == '"':
                self._in_string = True
            elif ch in "{[":
                self._depth += 1
            elif ch in "}]":
                self._depth -= 1
                self._closed = self._depth == 0

    def complete(self) -> bool:
        """Tell whether the arguments so far already form a whole JSON value."""
        if not self._closed or self._broken:
            return False
        if self._verdict is None or self._verdict[0] != self.size:
            try:
                json.loads(self.args_text())  # once per completed value, not per fragment
                parses = True
            except (ValueError, RecursionError):
                parses = False
            self._verdict = (self.size, parses)
        return self._verdict[1]


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _canonical(arguments: str) -> str:
    """Return arguments in a form where equal JSON compares equal."""
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except (ValueError, RecursionError):
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
        if name is not None:
            name = str(name)[:MAX_NAME_CHARS]  # real names are at most 64 characters
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
        current.add(arguments)

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
        if len(self._calls) >= MAX_CALLS:
            # Memory stays bounded; the registry refuses calls beyond its own smaller cap.
            logger.warning("more than %d tool calls in one response; dropping the rest", MAX_CALLS)
            return _Partial()  # assembled nowhere: not in self._calls
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
            if partial.oversized:
                call_id = partial.id or f"call_{uuid.uuid4().hex[:24]}"
                problem = f"its arguments were longer than {MAX_ARGUMENT_CHARS:,} characters"
                result.append(ToolCall(call_id, partial.name, "{}", problem=problem))
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
