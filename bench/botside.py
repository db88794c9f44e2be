"""The bot's process: run the real bot (or the naive baseline) and measure it.

CPU time comes from getrusage(RUSAGE_SELF) over the batch (every thread of the process,
the SQLite driver's included); memory is the resident set size sampled every 50 ms.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import logging
import os
import resource
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from bench import baseline
from bench.pgdb import postgres_database
from bench.scenarios import SECRET, Scenario

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
_statm: list[int] = []  # /proc/self/statm kept open: a sample must cost next to nothing
WARM_UP = {"chars": 40, "pieces": 4, "delay": 0.005, "first_delay": 0.0}
PATIENCE = 900.0  # seconds a batch may take: runs end when every answer is whole, not by time


def rss_kb() -> int:
    """Return this process's resident set size in KiB."""
    if not _statm:
        _statm.append(os.open("/proc/self/statm", os.O_RDONLY))
    return int(os.pread(_statm[0], 128, 0).split()[1]) * PAGE_KB


def cpu_seconds() -> float:
    """Return the user + system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Bot(Protocol):
    port: int | None

    def pending(self) -> set[asyncio.Task[None]]: ...

    async def stop(self) -> None: ...


class RealBot:
    """bot.runtime.Runtime configured through Settings, as `python -m bot run` does."""

    def __init__(self, urls: dict[str, str], database_url: str, overrides: dict[str, Any]) -> None:
        from bot.runtime import Runtime
        from bot.settings import load_settings

        values: dict[str, Any] = {
            "slack_bot_token": "xoxb-bench",
            "slack_signing_secret": SECRET,
            "slack_api_url": urls["slack_api_url"],
            "openai_api_key": "sk-bench",
            "openai_base_url": urls["openai_base_url"],
            "openai_model": "fake-model",
            "database_url": database_url,
            "host": "127.0.0.1",
            "port": 0,
            "_env_file": None,
            **overrides,
        }
        self.runtime = Runtime(load_settings(**values))
        self.port: int | None = None

    async def start(self) -> None:
        await self.runtime.start()
        self.port = self.runtime.port

    def pending(self) -> set[asyncio.Task[None]]:
        bot = self.runtime.bot
        return set() if bot is None else set(bot.tasks)

    async def stop(self) -> None:
        await self.runtime.stop(5.0)


class NaiveHandle:
    """The naive baseline behind the same interface."""

    def __init__(self, urls: dict[str, str]) -> None:
        from bench.naive import NaiveBot

        self.bot = NaiveBot(signing_secret=SECRET, **urls)
        self.port: int | None = None

    async def start(self) -> None:
        await self.bot.start()
        self.port = self.bot.port

    def pending(self) -> set[asyncio.Task[None]]:
        return set(self.bot.tasks)

    async def stop(self) -> None:
        await self.bot.stop()


class Control:
    """Talk to the fakes' process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))

    async def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        method = "GET" if body is None else "POST"
        async with self.http.request(method, self.url + path, json=body) as r:
            r.raise_for_status()
            return await r.json()

    async def wait(self, bot: Bot, n: int, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until every answer is whole, or the bot has had nothing to do for a second."""
        deadline, idle = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            status = await self.call("/status")
            if status["whole"] >= n:
                break
            # Every event was acknowledged before this is called, so an idle bot is done,
            # whether its answers are whole or not (failed turns end early).
            idle = 0 if bot.pending() else idle + 1
            if idle >= 5:
                break
            await asyncio.sleep(0.2)
        if pending := bot.pending():  # let the turns persist and end
            await asyncio.wait(pending, timeout=max(1.0, deadline + 30 - time.monotonic()))


async def _sample(peak: dict[str, int], bot: Bot) -> None:
    while True:
        peak["rss"] = max(peak["rss"], rss_kb())
        peak["busy"] = max(peak["busy"], len(bot.pending()))
        await asyncio.sleep(0.05)


async def run_once(
    control: Control,
    kind: str,
    sc: Scenario,
    database_url: str,
    overrides: dict[str, Any],
    profile_path: str | None,
) -> dict[str, Any]:
    """Start a fresh bot against fresh fakes, warm it up, then measure one batch."""
    urls = await control.call("/setup", {"rate_limits": sc.rate_limits})
    settings = {**sc.settings, **overrides}
    bot = NaiveHandle(urls) if kind == "naive" else RealBot(urls, database_url, settings)
    await bot.start()
    try:
        bot_url = f"http://127.0.0.1:{bot.port}"
        # Warm up with up to 10 replies at once: pools, caches and lazy imports are filled
        # before measuring, so the figures are per reply, not one-time costs. The warm-up
        # asks in another workspace, so the measured one starts idle: its edit budget (and
        # the fake's rate-limit bucket, refilled by /clear) full, as for a quiet workspace.
        warm = [WARM_UP] * min(10, sc.replies)
        await control.call("/fire", {"bot_url": bot_url, "replies": warm, "team": "TWARM"})
        await control.wait(bot, len(warm), 60)
        await control.call("/clear", {})
        gc.collect()
        peak = {"rss": rss_kb(), "busy": 0}
        rss0, cpu0, t0 = peak["rss"], cpu_seconds(), time.monotonic()
        sampler = asyncio.create_task(_sample(peak, bot))
        profiler = cProfile.Profile() if profile_path else None
        if profiler is not None:
            profiler.enable()
        await control.call(
            "/fire", {"bot_url": bot_url, "replies": sc.spec(), "spacing": sc.spacing}
        )
        await control.wait(bot, sc.replies, PATIENCE)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile_path)
        cpu, wall = cpu_seconds() - cpu0, time.monotonic() - t0
        sampler.cancel()
        report = await control.call("/report")
    finally:
        await bot.stop()
    return {
        "kind": kind,
        "scenario": sc.name,
        "cpu": cpu,
        "wall": wall,
        "rss0_kb": rss0,
        "rss_peak_kb": peak["rss"],
        "peak_busy": peak["busy"],
        **report,
    }


async def _main(
    control_url: str,
    kind: str,
    scenarios: list[Scenario],
    overrides: dict[str, Any],
    profile_path: str | None,
    db: str,
) -> list[dict[str, Any]]:
    control = Control(control_url)
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            logs = Path(tempfile.gettempdir()) / "slackbot-bench"
            logs.mkdir(exist_ok=True)
            logging.basicConfig(
                level=logging.INFO,
                filename=str(logs / f"{kind}-{scenarios[0].name}.log"),
                format="%(asctime)s %(levelname)s %(name)s %(message)s",
            )
            for sc in scenarios:
                for i in range(sc.repeats):
                    if db == "postgres" and kind != "naive":
                        async with postgres_database() as url:
                            results.append(
                                await run_once(control, kind, sc, url, overrides, profile_path)
                            )
                        continue
                    url = f"sqlite+aiosqlite:///{tmp}/{sc.name}-{i}.db"
                    results.append(await run_once(control, kind, sc, url, overrides, profile_path))
    finally:
        await control.http.close()
    return results


def loop_runner(kind: str, overrides: dict[str, Any]) -> Any:
    """How `python -m bot run` of this tree (or the baseline's) runs its loop; asyncio.run else.

    The naive baseline and a tree older than `EVENT_LOOP` run on asyncio's own loop.
    """
    if kind == "naive":
        return asyncio.run
    try:
        from bot.aio import run
        from bot.settings import Settings
    except ImportError:
        return asyncio.run
    # As the bot's own settings read it: `--set`, then the environment, then the default.
    default = Settings.model_fields["event_loop"].default
    loop = overrides.get("event_loop") or os.environ.get("EVENT_LOOP", "").lower() or default
    return lambda main: run(main, loop)


def work(
    conn: Connection,
    control_url: str,
    kind: str,
    scenarios: list[Scenario],
    overrides: dict[str, Any],
    profile_path: str | None = None,
    db: str = "sqlite",
    tree: str | None = None,
) -> None:
    """Run scenarios in this process and send the results back (multiprocessing target).

    `tree` is a baseline's checkout (kind "before"): its bot/ is loaded instead of ours.
    """
    try:
        if tree is not None:
            baseline.use(tree)
        main = _main(control_url, kind, scenarios, overrides, profile_path, db)
        conn.send(loop_runner(kind, overrides)(main))
    except BaseException as exc:
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
        raise
