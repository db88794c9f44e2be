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
    is reported once through `lone_close` and `saw_lone_close`; when `believe_lone` what came
    before it was reasoning too, otherwise the tag is answer text like any other (an answer
    about markup may contain it). A stream that ends inside a block never closed gives that
    block back as answer text (`flush`, then `unclosed` is True): the opening was a mistake.
    """

    def __init__(self, *, opened: bool = False, believe_lone: bool = True) -> None:
        self.inside = opened  # the template opened the block (learnt from earlier answers)
        self.lone_close = False
        self.saw_lone_close = False
        self.unclosed = False
        self._believe_lone = believe_lone
        self._held = ""
        self._strip = False  # drop the blank lines a model puts after </think>
        self._seen_tag = opened
        self._opening = ""  # the tag that opened the current block ("" when the template did)
        self._block: list[str] = []  # reasoning of the block not closed yet

    @property
    def believes_lone(self) -> bool:
        """Tell whether a lone `</think>` ends reasoning here (else it is answer text)."""
        return self._believe_lone

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
                self.lone_close = self.saw_lone_close = True
                self._seen_tag = True
                if self._believe_lone:
                    self._emit(pieces, True, buffer[:lone])
                    self._strip = True
                else:
                    self._emit(pieces, False, buffer[: lone + len(CLOSE)])
                buffer = buffer[lone + len(CLOSE) :]
                continue
            if at >= 0:
                self._emit(pieces, self.inside, buffer[:at])
                self._seen_tag = True
                self._strip = self.inside
                self.inside = not self.inside
                self._opening, self._block = OPEN, []
                buffer = buffer[at + len(tag) :]
                continue
            keep = _partial_tag(buffer, tag if self._seen_tag or self.inside else None)
            self._emit(pieces, self.inside, buffer[: len(buffer) - keep])
            self._held = buffer[len(buffer) - keep :]
            break
        return pieces

    def flush(self) -> list[tuple[bool, str]]:
        """Return what is still held once the stream ended (an unclosed block as answer)."""
        pieces: list[tuple[bool, str]] = []
        if self.inside:
            # No closing tag came: it was never reasoning. Say it all as the answer.
            self.unclosed = True
            text = self._opening + "".join(self._block) + self._held
            self.inside, self._block, self._held = False, [], ""
            self._emit(pieces, False, text.strip())
            return pieces
        self._emit(pieces, False, self._held)
        self._held = ""
        return pieces

    def _emit(self, pieces: list[tuple[bool, str]], reasoning: bool, text: str) -> None:
        if reasoning and self.inside:
            self._block.append(text)
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
