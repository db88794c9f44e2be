"""Summarise a cProfile dump of the bot's process: where the CPU time goes, by package."""

from __future__ import annotations

import pstats
import re
from collections import defaultdict

# Order matters: the first pattern that matches a file names its area.
AREAS = [
    ("the bot (bot/)", r"^(?!.*site-packages).*/bot/"),
    ("openai SDK (chunk models, SSE)", r"/openai/"),
    ("pydantic", r"/pydantic"),
    ("openai's HTTP layer (httpx2, h11, anyio)", r"/(httpx2?|httpcore2?|h11|anyio|sniffio)/"),
    ("slack_sdk (Web API client)", r"/slack_sdk/"),
    ("slack_bolt", r"/slack_bolt/"),
    ("aiohttp", r"/(aiohttp|yarl|multidict|aiohappyeyeballs)/"),
    ("SQLAlchemy", r"/sqlalchemy/"),
    ("aiosqlite / asyncpg", r"/(aiosqlite|asyncpg)/"),
    ("asyncio event loop", r"/asyncio/"),
    ("json", r"/json/"),
    ("typing / inspect (used by the SDK's model construction)", r"/(typing|inspect)\.py"),
]
IDLE = ("'poll' of 'select.epoll'", "'switch' of 'greenlet.greenlet'")  # waiting, not working


def _area(filename: str, name: str) -> str:
    for area, pattern in AREAS:
        if re.search(pattern, filename):
            return area
    return "built-ins and other" if filename == "~" else "other"


def summarize(path: str, *, top: int = 20) -> str:
    """Return Markdown: CPU by area, then the functions with the most own time."""
    stats = pstats.Stats(path)
    raw = stats.stats  # type: ignore[attr-defined]
    by_area: dict[str, float] = defaultdict(float)
    busy = 0.0
    rows = []
    for (filename, line, name), (_, calls, tottime, cumtime, _) in raw.items():
        label = name if filename == "~" else f"{filename}:{line}({name})"
        if any(idle in name for idle in IDLE):
            continue
        busy += tottime
        by_area[_area(filename, name)] += tottime
        rows.append((tottime, cumtime, calls, label))
    out = [
        "CPU time of the main thread by package (own time, idle epoll excluded; profiled run):",
        "",
        "| Area | Own time | Share |",
        "|---|---:|---:|",
    ]
    for area, seconds in sorted(by_area.items(), key=lambda kv: -kv[1]):
        out.append(f"| {area} | {seconds:.2f} s | {seconds / busy:.0%} |")
    out += [
        "",
        f"Top {top} functions by own time:",
        "",
        "```",
        f"{'own s':>8} {'cum s':>8} {'calls':>9}  function",
    ]
    for tottime, cumtime, calls, label in sorted(rows, reverse=True)[:top]:
        label = re.sub(r".*site-packages/", "", label)
        label = re.sub(r".*/lib/python3\.\d+/", "", label)
        label = re.sub(r".*/work/main/", "", label)
        out.append(f"{tottime:8.2f} {cumtime:8.2f} {calls:9d}  {label}")
    out.append("```")
    return "\n".join(out)
