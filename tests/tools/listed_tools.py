"""A tool module that names its tools in `TOOLS` (plain typed functions, one of them sync)."""

from __future__ import annotations

from bot.tools import tool


async def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def shout(text: str) -> str:
    """Upper-case a text (a plain function: it runs in a worker thread)."""
    return text.upper()


@tool(name="not_listed")
async def hidden() -> str:
    """Not offered: the module's TOOLS list does not name it."""
    return "hidden"


TOOLS = [add, shout]
