"""One line per check: what was found, and for a failure, how to fix it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TextIO

Status = Literal["ok", "failed", "skipped"]
MARKS: dict[Status, str] = {"ok": "✔", "failed": "✘", "skipped": "-"}


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check."""

    name: str
    status: Status
    detail: str = ""
    fix: str = ""


def ok(name: str, detail: str = "") -> Check:
    """A check that passed."""
    return Check(name, "ok", detail)


def failed(name: str, detail: str, fix: str) -> Check:
    """A check that failed, with the fix to print under it."""
    return Check(name, "failed", detail, fix)


def skipped(name: str, why: str) -> Check:
    """A check that was not run, and why."""
    return Check(name, "skipped", why)


class Printer:
    """Print each check as it completes; remember whether any failed."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.failures = 0
        # Masks secrets in what is printed: a server's error may echo the key it refused.
        self.mask: Callable[[str], str] = lambda text: text

    def show(self, check: Check) -> None:
        """Print one check (and its fix when it failed)."""
        if check.status == "failed":
            self.failures += 1
        encoding = (getattr(self.out, "encoding", None) or "utf-8").lower()
        mark = MARKS[check.status] if encoding.startswith("utf") else check.status
        line = f"{mark} {check.name}"
        if check.detail:
            line += f": {check.detail}"
        print(self.mask(line), file=self.out)
        if check.fix:
            print(self.mask(f"    fix: {check.fix}"), file=self.out)
        self.out.flush()
