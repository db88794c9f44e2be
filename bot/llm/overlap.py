"""Join a resumed answer to what was already shown, without repeating text."""

from __future__ import annotations

MIN_OVERLAP = 8
DECIDE_AFTER = 64


def continuation_start(shown: str, resumed: str, *, final: bool = False) -> int | None:
    """Return how many leading characters of `resumed` repeat `shown`, or None to wait for more.

    A resumed stream either starts over (it repeats `shown` from its beginning), picks up
    mid-sentence with some overlap, or continues cleanly. Until `DECIDE_AFTER` characters
    have arrived (or the stream ended) a short prefix can't be told apart, so wait.
    """
    if not shown:
        return 0
    if shown.startswith(resumed):
        if len(resumed) < len(shown) and not final:
            return None
        return len(resumed)
    if resumed.startswith(shown):
        return len(shown)
    if len(resumed) < DECIDE_AFTER and not final:
        return None
    longest = min(len(shown), len(resumed))
    for size in range(longest, MIN_OVERLAP - 1, -1):
        if shown.endswith(resumed[:size]):
            return size
    return 0
