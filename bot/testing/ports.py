"""Loopback ports for the processes the tests start, and waiting until they answer."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import aiohttp


def free_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until_ready(
    url: str,
    *,
    alive: Callable[[], bool],
    describe: Callable[[], str],
    timeout: float = 60.0,  # noqa: ASYNC109 - a polling deadline; usually 1-2 s, CI is slower
) -> None:
    """Poll `url` until it answers 200; fail with `describe()` if the process dies or stalls."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession() as http:
        while loop.time() < deadline:
            if not alive():
                raise AssertionError(f"the process exited:\n{describe()}")
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout:g} s:\n{describe()}")
