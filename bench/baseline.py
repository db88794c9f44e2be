"""An older commit of the bot, checked out in a temporary git worktree for `--baseline`.

The baseline's bot runs in its own process with the checkout first on `sys.path`, on the
same interpreter and libraries as the current tree, so the two differ only in bot/ (and
its migrations). The benchmark's own code (bench/) and the fakes are the current ones.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.strip()


@contextmanager
def checkout(commit: str) -> Iterator[tuple[Path, str]]:
    """Check `commit` out in a temporary worktree; yield its path and short hash; remove it."""
    short = _git("rev-parse", "--short", f"{commit}^{{commit}}")
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-baseline-{short}-"))
    tree = tmp / "tree"
    _git("worktree", "add", "--detach", str(tree), short)
    try:
        # The package ships migrations/ as bot.migrations (pyproject's package-dir); without
        # an install, a link makes `bot.migrations` the checkout's own, not the current tree's.
        link = tree / "bot" / "migrations"
        if (tree / "migrations").is_dir() and not link.exists():
            link.symlink_to(tree / "migrations", target_is_directory=True)
        yield tree, short
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def use(tree: str) -> None:
    """Make `import bot` in this process load the checkout at `tree` (before anything else)."""
    if "bot" in sys.modules:
        raise RuntimeError("bot was imported before the baseline was put on sys.path")
    sys.path.insert(0, tree)
    import bot

    if not Path(bot.__file__).resolve().is_relative_to(Path(tree).resolve()):
        raise RuntimeError(f"bot imported from {bot.__file__}, not from the baseline {tree}")
