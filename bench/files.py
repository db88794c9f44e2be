"""`python -m bench.files`: a 10 MB PDF does not stall other replies; memory per question.

The real bot (`Runtime` through the test harness) runs in this process with the fake Slack
and model servers. While questions with a 10 MB PDF are read, ten plain questions stream
paced answers; a ticker measures the event loop's lag (how late a 10 ms sleep wakes up)
and the resident memory of this process and of the extraction workers is sampled. The
same is run with extraction in threads (`FILE_WORKERS=0`) for contrast. Figures go to
bench/FILES_RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.testing.documents import make_pdf
from bot.testing.harness import Harness, channel_message
from bot.testing.openai import FakeOpenAI, text_reply
from bot.testing.slack import FakeSlack

OUT = Path(__file__).with_name("FILES_RESULTS.md")


def ten_mb_pdf() -> bytes:
    """1,900 pages of text."""
    line = "Quarterly figures for the northern region, row {:05d}: revenue 12,345 EUR, ok."
    pages = [[line.format(p * 70 + i) for i in range(70)] for p in range(1900)]
    return make_pdf(pages)


def ten_mb_drawing_pdf() -> bytes:
    """500 pages of vector drawing and no text: the extractor parses all of it for nothing."""
    return make_pdf([[] for _ in range(500)], drawing=20_000)


def rss_kb(pid: int | str = "self") -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0  # the process ended
    for row in status.splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1])
    return 0


class Sampler:
    """Measure event-loop lag and sample memory until stopped."""

    def __init__(self, bot: Harness) -> None:
        self.bot, self.lags, self.rss, self.worker_rss = bot, [0.0], [rss_kb()], [0]
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            self.lags.append(time.perf_counter() - start - 0.01)
            self.rss.append(rss_kb())
            files = self.bot.runtime.files if self.bot.runtime else None
            pool = files.extractors._pool if files else None
            pids = list(getattr(pool, "_processes", {}) or {})
            self.worker_rss.append(sum(rss_kb(p) for p in pids))

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def one_run(workers: int, pdfs: int, budget: int, pdf: bytes) -> dict[str, Any]:
    """Ask `pdfs` PDF questions and ten plain ones at once; return the figures."""
    async with FakeSlack() as slack, FakeOpenAI() as llm:
        llm.responder = lambda body: text_reply("word " * 40, pieces=5, delay=0.02)
        with tempfile.TemporaryDirectory() as tmp:
            bot = Harness(slack, llm, f"sqlite+aiosqlite:///{tmp}/bench.db")
            await bot.start(file_workers=workers, history_token_budget=budget)
            try:
                # Warm up: the worker process starts and imports pypdf once.
                warm = slack.add_file("warm.pdf", make_pdf([["warm"]]), "application/pdf")
                await ask(bot, slack, "warm up", [warm])
                await settle(bot)
                base_rss = rss_kb()
                sampler = Sampler(bot)
                started = time.perf_counter()
                files = [slack.add_file(f"big{i}.pdf", pdf, "application/pdf") for i in range(pdfs)]
                events = [await ask(bot, slack, f"summarise {i}", [f]) for i, f in enumerate(files)]
                events += [await ask(bot, slack, f"plain {i}", []) for i in range(10)]
                await settle(bot)
                wall = time.perf_counter() - started
                await sampler.stop()
                first = first_replies(slack, events[pdfs:])
                sent = [
                    len(str(r["messages"][-1]["content"])) for r in llm.requests[-len(events) :]
                ]
            finally:
                await bot.close()
    lags = sorted(sampler.lags)
    return {
        "workers": workers,
        "pdfs": pdfs,
        "budget": budget,
        "wall_s": wall,
        "lag_max_ms": lags[-1] * 1000,
        "lag_p99_ms": lags[int(len(lags) * 0.99) - 1] * 1000,
        "plain_first_reply_p95_ms": first[int(len(first) * 0.95) - 1] * 1000 if first else 0,
        "rss_growth_mb": (max(sampler.rss) - base_rss) / 1024,
        "worker_rss_peak_mb": max(sampler.worker_rss) / 1024,
        "pdf_text_chars": max(sent) if pdfs else 0,
    }


async def ask(bot: Harness, slack: FakeSlack, text: str, files: list[dict]) -> dict:
    event = channel_message(f"<@UBOT> {text}")
    if files:
        event.update(files=files, upload=True, subtype="file_share")
    event["sent_at"] = time.monotonic()
    await bot.send({k: v for k, v in event.items() if k != "sent_at"})
    return event


async def settle(bot: Harness) -> None:
    await bot.slack.wait_for(lambda: not bot.runtime.bot.tasks, timeout=600)


def first_replies(slack: FakeSlack, events: list[dict]) -> list[float]:
    out = []
    for event in events:
        posts = [
            c for c in slack.calls_to("chat.postMessage") if c.args.get("thread_ts") == event["ts"]
        ]
        if posts:
            out.append(posts[0].at - event["sent_at"])
    return sorted(out)


def render(rows: list[dict[str, Any]], text_size: int, drawing_size: int) -> str:
    head = [
        "# Files benchmark",
        "",
        "Produced by `python -m bench.files`; every figure is a measurement of this run.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}",
        f"- PDFs: text, {text_size / 1e6:.1f} MB (1,900 pages); drawing, {drawing_size / 1e6:.1f} MB "
        "(500 pages of vector strokes, no text). Ten plain questions stream at the same time "
        "(40 deltas, 20 ms apart). The fakes share the bot's process and event loop.",
        "",
        "| PDF | Extraction | PDFs at once | HISTORY_TOKEN_BUDGET | Wall s | Loop lag max ms | Loop lag p99 ms "
        "| Plain first reply p95 ms | Bot RSS growth MB | Worker RSS peak MB | PDF text sent (chars) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        where = f"{r['workers']} process" if r["workers"] else "threads"
        head.append(
            f"| {r['kind']} | {where} | {r['pdfs']} | {r['budget']:,} | {r['wall_s']:.1f} | {r['lag_max_ms']:.0f} "
            f"| {r['lag_p99_ms']:.0f} | {r['plain_first_reply_p95_ms']:.0f} | {r['rss_growth_mb']:.1f} "
            f"| {r['worker_rss_peak_mb']:.0f} | {r['pdf_text_chars']:,} |"
        )
    return "\n".join(head) + "\n"


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    text, drawing = ten_mb_pdf(), ten_mb_drawing_pdf()
    rows = []
    for workers, pdfs, budget, pdf in [
        (1, 0, 8000, text),
        (1, 1, 8000, text),
        (1, 1, 128000, text),
        (0, 1, 128000, text),
        (1, 4, 128000, text),
        (1, 1, 128000, drawing),
        (0, 1, 128000, drawing),
    ]:
        rows.append(await one_run(workers, pdfs, budget, pdf))
        rows[-1]["kind"] = "text" if pdf is text else "drawing, no text"
        print(rows[-1], flush=True)
    args.out.write_text(render(rows, len(text), len(drawing)))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
