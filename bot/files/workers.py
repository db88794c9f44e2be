"""Run extraction off the event loop: in worker processes, or threads when processes are off.

pypdf is pure Python: in a thread it would hold the GIL and slow every reply streaming
in this process, so by default extraction runs in a small pool of spawned processes
(spawn, not fork: forking a process that runs an event loop and threads is unsafe).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from bot import texts
from bot.files.extract import Extracted, extract

logger = logging.getLogger(__name__)

EXTRACT_TIMEOUT = 120.0  # seconds one file may take to read


class Extractors:
    """Extract files in `processes` worker processes (0: in threads)."""

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    async def extract(self, kind: str, data: bytes, name: str, max_chars: int) -> Extracted:
        """Read one file off the event loop; a crash or a timeout becomes a skip reason."""
        try:
            if self.processes <= 0:
                job = asyncio.to_thread(extract, kind, data, name, max_chars)
                return await asyncio.wait_for(job, EXTRACT_TIMEOUT)
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self._executor(), extract, kind, data, name, max_chars)
            return await asyncio.wait_for(future, EXTRACT_TIMEOUT)
        except TimeoutError:
            logger.warning("reading a %s file took over %.0f s; gave up", kind, EXTRACT_TIMEOUT)
            self._reset()  # the worker may be stuck on it: start afresh
            return Extracted(skip=texts.FILE_READ_SLOW)
        except BrokenProcessPool:
            logger.warning("the file worker died while reading a %s file", kind)
            self._reset()
            return Extracted(skip=texts.FILE_READER_DIED)

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.processes, mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool

    def _reset(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()  # a stuck worker would otherwise hold its slot forever
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the worker processes."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
