"""Run an MCP server so that it dies with the bot, even when the bot is killed with SIGKILL.

Started as `python guard.py BOT_PID -- COMMAND ARGS...` by the stdio transport (which puts
it at the head of a new process group). It asks Linux to send it SIGTERM when its parent
dies (PR_SET_PDEATHSIG; elsewhere it polls the parent pid), runs the server with the same
stdin/stdout, and on SIGTERM stops the whole group: SIGTERM first, SIGKILL after a grace.
It imports nothing from the bot, so it starts fast.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
GRACE = 2.0  # seconds the server gets to exit on SIGTERM before SIGKILL


def _die_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0:
            return
    except (OSError, AttributeError):
        pass

    def poll() -> None:  # no prctl (not Linux): notice the parent's death by polling
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=poll, daemon=True).start()


def _stop_group(child: subprocess.Popen[bytes]) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    leader = os.getpgrp() == os.getpid()
    with contextlib.suppress(ProcessLookupError):
        if leader:
            os.killpg(os.getpgrp(), signal.SIGTERM)
        else:
            child.terminate()
    try:
        child.wait(GRACE)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        if leader:
            os.killpg(os.getpgrp(), signal.SIGKILL)  # ends this process too
        child.kill()


def main(argv: list[str]) -> int:
    """Run the command after `--` as a child that cannot outlive the parent `argv[0]`."""
    if len(argv) < 3 or argv[1] != "--":
        print("usage: guard.py PARENT_PID -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    parent = int(argv[0])
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    _die_with_parent(parent)
    if os.getppid() != parent:  # the parent died before the death signal was armed
        return 1
    try:
        child = subprocess.Popen(argv[2:])
    except OSError as exc:
        print(f"cannot start {argv[2]!r}: {exc}", file=sys.stderr)
        return 127

    def stop(*_: object) -> None:
        _stop_group(child)
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)  # interrupts the wait below
    if stopping.is_set():
        stop()
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
