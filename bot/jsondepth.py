"""How deeply a JSON text nests, checked before parsing it (every layer receiving JSON uses it).

`json.loads` recurses once per level and raises RecursionError (not ValueError) near a
thousand levels; code walking the parsed value recurses again. Bodies from outside and
tool arguments from the model are refused above a small depth instead.
"""

from __future__ import annotations

MAX_DEPTH = 64  # Slack's payloads and sensible tool arguments stay far below this


def too_deep(text: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """Tell whether a JSON text nests brackets deeper than `limit` (brackets in strings skipped)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if text.count("[") + text.count("{") <= limit:
        return False  # the usual case, at C speed
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False
