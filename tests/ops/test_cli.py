"""The command line as an operator meets it: missing settings, migrations from anywhere."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "DATABASE_"))
    }
    env.update(extra)
    return env


def test_missing_required_settings_are_named(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN is required" in result.stderr
    assert "OPENAI_API_KEY is required" in result.stderr


def test_http_mode_needs_the_signing_secret(tmp_path: Path) -> None:
    env = _clean_env(SLACK_BOT_TOKEN="xoxb-1", OPENAI_API_KEY="sk-1")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "SLACK_SIGNING_SECRET" in result.stderr
    assert "xoxb-1" not in result.stderr + result.stdout


def test_migrate_works_from_any_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    tables = {
        r[0]
        for r in sqlite3.connect(tmp_path / "slack_llm_bot.db").execute(
            "select name from sqlite_master"
        )
    }
    assert {"messages", "claims", "alembic_version"} <= tables


def test_a_regular_install_ships_the_migrations(tmp_path: Path) -> None:
    """`pip install .` (not editable) must carry migrations inside the package."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        timeout=180,
        capture_output=True,
    )
    target = tmp_path / "site"
    wheel = next(wheels.glob("*.whl"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=180,
        capture_output=True,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    code = "import bot, sys; assert 'site' in bot.__file__, bot.__file__; sys.argv=['bot','migrate']; from bot.__main__ import main; sys.exit(main(['migrate']))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=work,
        env=_clean_env(PYTHONPATH=str(target)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (work / "slack_llm_bot.db").exists()
