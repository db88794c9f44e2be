"""Shape a request the way strict chat templates demand.

Servers apply the model's own chat template (llama-server `--jinja`, vLLM, Ollama), and the
templates of Gemma, Mistral, Llama and Qwen refuse what they do not expect: a system message
anywhere but first, two user (or two assistant) turns in a row, a conversation that starts
with the assistant, a user turn right after tool results (Mistral counts an assistant turn
only by its text). `alternate` turns any history into one system message, then user and
assistant turns in strict alternation, where an assistant turn may hold tool rounds (an
assistant message with `tool_calls`, then its results) before its text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot import texts

Message = dict[str, Any]


@dataclass
class _Turn:
    role: str  # "user" or "assistant"
    messages: list[Message] = field(default_factory=list)

    def open_round(self) -> bool:
        """Tell whether the turn ends with a tool round (results may follow)."""
        last = self.messages[-1] if self.messages else None
        return last is not None and (last["role"] == "tool" or bool(last.get("tool_calls")))


def alternate(messages: list[Message]) -> list[Message]:
    """Return `messages` with one leading system message and alternating user/assistant turns.

    Consecutive user messages become one user turn (their contents joined by a blank line),
    consecutive assistant texts one assistant turn; a later system message is folded into
    the leading one; an assistant text before any user turn is quoted in the first user
    turn. A tool round stays with its results; one that never led to an answer (the next
    message is the user's) is replaced by the text it carried, if any. The newest turn may
    end with tool results: the model's next round continues it.
    """
    system = [m.get("content") for m in messages if m["role"] == "system"]
    turns: list[_Turn] = []
    for message in messages:
        role = message["role"]
        current = turns[-1] if turns else None
        if role == "user":
            if current is not None and current.role == "assistant":
                _close(turns)
                current = turns[-1] if turns else None
            if current is not None and current.role == "user":
                last = current.messages[-1]
                current.messages[-1] = {**last, "content": _join(last, message)}
            else:
                turns.append(_Turn("user", [message]))
        elif role == "assistant":
            if current is None:
                # The thread starts with the bot (or its start was trimmed): keep what it
                # said as context inside the first user turn, not as a turn of its own.
                if message.get("content") and not message.get("tool_calls"):
                    quoted = texts.earlier_answer(_text(message.get("content")))
                    turns.append(_Turn("user", [{"role": "user", "content": quoted}]))
            elif current.role == "user":
                turns.append(_Turn("assistant", [message]))
            elif current.open_round():
                current.messages.append(message)
            else:  # two assistant messages in a row: one turn, texts joined
                last = current.messages[-1]
                merged = {**message, "content": _join(last, message) or None}
                if not merged.get("tool_calls"):
                    merged["content"] = merged["content"] or ""
                current.messages[-1] = merged
        elif role == "tool":
            if current is not None and current.role == "assistant" and current.open_round():
                current.messages.append(message)
    flat: list[Message] = []
    text = "\n\n".join(s for s in system if isinstance(s, str) and s)
    if system:
        flat.append({"role": "system", "content": text})
    for turn in turns:
        flat.extend(turn.messages)
    return flat


def _close(turns: list[_Turn]) -> None:
    """End the newest assistant turn before a user turn: no tool round may be left open."""
    turn = turns[-1]
    if not turn.open_round():
        return
    carried = [m.get("content") for m in turn.messages if m["role"] == "assistant"]
    kept = [m for m in turn.messages if m["role"] == "assistant" and not m.get("tool_calls")]
    said = "\n\n".join(c for c in carried if isinstance(c, str) and c)
    if said:
        turn.messages = [{"role": "assistant", "content": said}]
    elif kept:
        turn.messages = kept
    else:
        turns.pop()  # the round said nothing: the user's messages become one turn


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _join(first: Message, second: Message) -> Any:
    """Join two messages' contents (strings, or lists of parts when either is a list)."""
    a, b = first.get("content"), second.get("content")
    if isinstance(a, list) or isinstance(b, list):
        return [*_parts(a), *_parts(b)]
    return "\n\n".join(p for p in (a, b) if isinstance(p, str) and p)


def _parts(content: Any) -> list[Any]:
    if isinstance(content, list):
        return list(content)
    return [{"type": "text", "text": content}] if isinstance(content, str) and content else []
