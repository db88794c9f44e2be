"""Run extraction off the event loop: in worker processes, or threads when processes are off.

pypdf is pure Python: in a thread it would hold the GIL and slow every reply streaming
in this process, so by default extraction runs in a few spawned processes (spawn, not
fork: forking a process that runs an event loop and threads is unsafe).

One file's trouble costs that file only. A job first waits for a free worker (that wait is
not part of its timeout); the timeout starts when the worker has the file. A job that
overruns it ends its own worker (killed, replaced by the next job that needs one), and a
worker that dies fails only the job it was running: either becomes a skip note for that
file. Workers run under an address-space limit (RLIMIT_AS), so a file that inflates in
memory fails with MemoryError in its worker instead of taking the machine's memory.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from bot import texts
from bot.files.extract import Extracted, extract

logger = logging.getLogger(__name__)

EXTRACT_TIMEOUT = 120.0  # seconds one file may take to read (FILE_READ_TIMEOUT)
THREADS = 4  # with FILE_WORKERS=0: files read at once (a stuck one holds its thread)
START_TIMEOUT = 60.0  # seconds a new worker may take to start (imports, on a busy machine)
Target = Callable[[str, bytes, str, int], Extracted]


def serve(conn: Connection, memory_bytes: int) -> None:
    """Run in a worker process: read one job at a time until the pipe closes."""
    if memory_bytes > 0:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        except (ImportError, ValueError, OSError):  # not on this platform: no cap
            pass
    conn.send("ready")
    while True:
        try:
            target, args = conn.recv()
        except EOFError:
            return
        try:
            result = target(*args)
        except MemoryError:
            result = Extracted(skip=texts.FILE_OUT_OF_MEMORY)
        except Exception as exc:  # noqa: BLE001 - the file's news, never the worker's end
            result = Extracted(skip=texts.FILE_UNREADABLE.format(why=type(exc).__name__))
        conn.send(result)


class _Worker:
    """One worker process and the pipe to it."""

    def __init__(self, memory_bytes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=serve, args=(child, memory_bytes), name="file-worker", daemon=True
        )
        self.process.start()
        child.close()

    async def readable(self, timeout: float) -> None:  # noqa: ASYNC109 - a per-call deadline
        """Wait until the worker has something to say (or has died: EOF is readable too)."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = self.conn.fileno()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, wake)
        try:
            await asyncio.wait_for(ready, timeout)
        finally:
            loop.remove_reader(fd)

    async def run(self, target: Target, args: tuple[Any, ...], timeout: float) -> Extracted:  # noqa: ASYNC109
        await asyncio.to_thread(self.conn.send, (target, args))  # an idle worker reads at once
        await self.readable(timeout)
        result = await asyncio.to_thread(self.conn.recv)
        if not isinstance(result, Extracted):
            raise EOFError("the worker answered out of turn")
        return result

    def kill(self) -> None:
        self.process.kill()
        self.conn.close()
        self.process.join(timeout=5)


class Extractors:
    """Extract files in `processes` worker processes (0: in threads)."""

    def __init__(
        self,
        processes: int = 1,
        *,
        timeout: float = EXTRACT_TIMEOUT,  # noqa: ASYNC109 - per file, not per call
        memory_mb: int = 1024,
        target: Target = extract,
    ) -> None:
        self.processes = processes
        self.timeout = timeout
        self.memory_bytes = memory_mb * 1024 * 1024
        self.target = target  # a module-level function: it is sent to the worker by name
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._slots: asyncio.Semaphore | None = None
        # Threads of their own (FILE_WORKERS=0): a file stuck in one never holds up the
        # default executor, which the rest of the process uses.
        self._threads: ThreadPoolExecutor | None = None
        self.replaced = 0  # workers ended by a stuck or failed job (for tests and metrics)

    async def extract(self, kind: str, data: bytes, name: str, max_chars: int) -> Extracted:
        """Read one file off the event loop; a crash or a timeout becomes a skip reason."""
        if self.processes <= 0:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(THREADS, thread_name_prefix="file-reader")
            loop = asyncio.get_running_loop()
            job = loop.run_in_executor(self._threads, self.target, kind, data, name, max_chars)
            try:
                return await asyncio.wait_for(job, self.timeout)
            except TimeoutError:  # the thread cannot be stopped; it ends with its file
                return self._slow(kind)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.processes)
        async with self._slots:  # waiting for a free worker does not count against the timeout
            try:
                worker = self._idle_worker() or await self._start()
            except (TimeoutError, EOFError, OSError):
                logger.warning("a file worker did not start")
                return Extracted(skip=texts.FILE_READER_DIED)
            self._busy.add(worker)
            try:
                result = await worker.run(self.target, (kind, data, name, max_chars), self.timeout)
            except TimeoutError:
                self._end(worker)
                return self._slow(kind)
            except (EOFError, OSError):
                logger.warning("the file worker died while reading a %s file", kind)
                self._end(worker)
                return Extracted(skip=texts.FILE_READER_DIED)
            except BaseException:  # cancelled mid-job: its answer must not reach the next job
                self._end(worker)
                raise
            finally:
                self._busy.discard(worker)
            self._idle.append(worker)
            return result

    def _idle_worker(self) -> _Worker | None:
        """Return a live idle worker; one that died while idle (OOM killer) is ended."""
        while self._idle:
            worker = self._idle.pop()
            if worker.process.is_alive():
                return worker
            logger.warning("a file worker died while idle; starting another")
            self._end(worker)
        return None

    async def _start(self) -> _Worker:
        worker = _Worker(self.memory_bytes)
        try:
            await worker.readable(START_TIMEOUT)
            if await asyncio.to_thread(worker.conn.recv) != "ready":
                raise EOFError("the worker did not start")
        except BaseException:
            worker.kill()
            raise
        return worker

    def _slow(self, kind: str) -> Extracted:
        logger.warning("reading a %s file took over %.0f s; gave up", kind, self.timeout)
        return Extracted(skip=texts.FILE_READ_SLOW)

    def _end(self, worker: _Worker) -> None:
        """End one worker (stuck, dead or interrupted); the others go on."""
        self.replaced += 1
        worker.kill()

    def close(self) -> None:
        """Stop the worker processes (a busy one is killed: its turn is ending too)."""
        idle, self._idle = self._idle, []
        for worker in idle:
            worker.conn.close()  # the worker sees EOF and returns
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
        for worker in list(self._busy):
            worker.kill()
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
