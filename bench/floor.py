"""The per-delta floor: the bot's model client alone, and a raw SSE reader, on one long stream.

Both read the same answer from the fake model server over loopback in a fresh process; the
difference is what the openai SDK's per-chunk models and HTTP layer cost on every delta.
"""

from __future__ import annotations

import asyncio
import json
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from bench.botside import Control, cpu_seconds, loop_runner


async def _sdk(urls: dict[str, str], tag: str, shared: dict[str, Any]) -> int:
    from bot.llm.client import ChatModel, openai_client
    from bot.llm.events import TextDelta

    if "model" not in shared:  # one client for every stream, as in the bot
        client = openai_client(api_key="sk-bench", base_url=urls["openai_base_url"])
        shared["model"] = ChatModel(client=client, model="fake-model")
    deltas = 0
    async for event in shared["model"].stream([{"role": "user", "content": f"q:{tag}"}]):
        deltas += isinstance(event, TextDelta)
    return deltas


async def _raw(urls: dict[str, str], tag: str, shared: dict[str, Any]) -> int:
    body = {
        "model": "fake-model",
        "stream": True,
        "messages": [{"role": "user", "content": f"q:{tag}"}],
    }
    deltas = 0
    if "http" not in shared:
        shared["http"] = aiohttp.ClientSession()
    url = urls["openai_base_url"] + "/chat/completions"
    async with shared["http"].post(url, json=body) as response:
        async for line in response.content:
            if line.startswith(b"data: {"):
                chunk = json.loads(line[6:])
                for choice in chunk.get("choices") or ():
                    deltas += bool((choice.get("delta") or {}).get("content"))
    return deltas


async def _main(control_url: str, deltas: int, paced: tuple[int, ...]) -> dict[str, Any]:
    control = Control(control_url)
    shared: dict[str, Any] = {}
    try:
        urls = await control.call("/setup", {})
        spec = {"chars": deltas * 4, "pieces": 4, "delay": 0.0}
        out: dict[str, Any] = {}
        for name, read in (("warm", _sdk), ("sdk", _sdk), ("raw", _raw)):
            [tag] = (await control.call("/plan", {"replies": [spec]}))["tags"]
            cpu = cpu_seconds()
            n = await read(urls, tag, shared)
            out[name] = {"deltas": n, "cpu": cpu_seconds() - cpu}
        # The same readers on `paced` streams at once, paced like the load runs (a delta
        # every 30 ms each): one read per delta, as in the bot, not many deltas per read.
        # Each level is measured, since fewer streams share fewer loop wake-ups.
        spec = {"chars": 1200, "pieces": 4, "delay": 0.03}
        for streams in paced:
            for name, read in (("sdk", _sdk), ("raw", _raw)):
                tags = (await control.call("/plan", {"replies": [spec] * streams}))["tags"]
                cpu = cpu_seconds()
                counts = await asyncio.gather(*(read(urls, tag, shared) for tag in tags))
                out[f"paced{streams}_{name}"] = {
                    "deltas": sum(counts),
                    "cpu": cpu_seconds() - cpu,
                    "streams": streams,
                }
        return out
    finally:
        if "model" in shared:
            await shared["model"].client.close()
        if "http" in shared:
            await shared["http"].close()
        await control.http.close()


def work(
    conn: Connection,
    control_url: str,
    deltas: int,
    paced: tuple[int, ...] = (100,),
    overrides: dict[str, Any] | None = None,
) -> None:
    """Measure both readers in this process (multiprocessing target), on the bot's loop."""
    conn.send(loop_runner("bot", overrides or {})(_main(control_url, deltas, paced)))
