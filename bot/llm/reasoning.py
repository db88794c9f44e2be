"""Tell a model's reasoning from its answer, under every name servers give it.

Reasoning arrives as `delta.reasoning_content` (DeepSeek, llama.cpp, LM Studio),
`delta.reasoning` (vLLM, Ollama, OpenRouter, Groq), `delta.reasoning_details` (OpenRouter,
which sends `reasoning` alongside with the same text), or inside `content` between `<think>`
and `</think>` (llama.cpp with `--reasoning-format none`, R1 distills). Tags may be split
across deltas, and templates that open the block themselves (Qwen) send only `</think>`.
"""

from __future__ import annotations

from typing import Any

OPEN, CLOSE = "<think>", "</think>"
REASONING_FIELDS = frozenset(("reasoning_content", "reasoning", "reasoning_details"))


def reasoning_of(delta: dict[str, Any]) -> str:
    """Return the reasoning text a delta carries in a field of its own ("" when none)."""
    for name in ("reasoning_content", "reasoning"):
        value = delta.get(name)
        if isinstance(value, str) and value:
            return value
    details = delta.get("reasoning_details")
    if isinstance(details, list):
        parts = []
        for detail in details:
            if isinstance(detail, dict):
                text = detail.get("text") or detail.get("summary")
                if isinstance(text, str):
                    parts.append(text)
        return "".join(parts)
    return ""


class ThinkSplitter:
    """Split streamed `content` into answer and `<think>` reasoning, tags split or lone.

    `feed` returns `(is_reasoning, text)` pieces in order. A closing tag with no opening one
    is reported once through `lone_close`: what came before it was reasoning too.
    """

    def __init__(self, *, opened: bool = False) -> None:
        self.inside = opened  # the template opened the block (learnt from an earlier round)
        self.lone_close = False
        self._held = ""
        self._strip = False  # drop the blank lines a model puts after </think>
        self._seen_tag = opened

    def plain(self, text: str) -> bool:
        """Tell whether `text` is all answer, as it is (the common case, checked per delta)."""
        return not (self.inside or self._held or self._strip) and "<" not in text

    def feed(self, text: str) -> list[tuple[bool, str]]:
        """Return the pieces of `text` that are certain now; a possible tag start is held."""
        if self.plain(text):
            return [(False, text)]
        buffer = self._held + text
        self._held = ""
        pieces: list[tuple[bool, str]] = []
        while buffer:
            tag = CLOSE if self.inside else OPEN
            at = buffer.find(tag)
            lone = -1 if self.inside or self._seen_tag else buffer.find(CLOSE)
            if lone >= 0 and (at < 0 or lone < at):
                self._emit(pieces, True, buffer[:lone])
                self.lone_close = True
                self._seen_tag = True
                self._strip = True
                buffer = buffer[lone + len(CLOSE) :]
                continue
            if at >= 0:
                self._emit(pieces, self.inside, buffer[:at])
                self._seen_tag = True
                self._strip = self.inside
                self.inside = not self.inside
                buffer = buffer[at + len(tag) :]
                continue
            keep = _partial_tag(buffer, tag if self._seen_tag or self.inside else None)
            self._emit(pieces, self.inside, buffer[: len(buffer) - keep])
            self._held = buffer[len(buffer) - keep :]
            break
        return pieces

    def flush(self) -> list[tuple[bool, str]]:
        """Return what is still held once the stream ended."""
        pieces: list[tuple[bool, str]] = []
        self._emit(pieces, self.inside, self._held)
        self._held = ""
        return pieces

    def _emit(self, pieces: list[tuple[bool, str]], reasoning: bool, text: str) -> None:
        if not reasoning and self._strip:
            text = text.lstrip()
            if text:
                self._strip = False
        if text:
            pieces.append((reasoning, text))


def _partial_tag(buffer: str, tag: str | None) -> int:
    """Return how many trailing characters of `buffer` could begin a tag."""
    tags = (tag,) if tag else (OPEN, CLOSE)
    longest = 0
    for candidate in tags:
        for size in range(min(len(candidate) - 1, len(buffer)), 0, -1):
            if buffer.endswith(candidate[:size]):
                longest = max(longest, size)
                break
    return longest
