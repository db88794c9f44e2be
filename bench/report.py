"""Write bench/RESULTS.md: machine, commit, the figures table, query plans, the profile."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.figures import Row, floor_rows, history_rows, rows_for

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("slack-bolt", "slack-sdk", "openai", "aiohttp", "sqlalchemy", "aiosqlite", "asyncpg")
HEADER = "| Metric | Target | Bot | Naive baseline | Bot / naive | Pass |"


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except OSError:
        return ""


def machine() -> dict[str, str]:
    """Describe the machine, the software and the code measured."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().split()[1]
        memory = f"{int(mem) / 1024 / 1024:.1f} GiB"
    except OSError:
        memory = "?"
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    if _git("status", "--porcelain", "--", "bot", "migrations"):
        commit += " + uncommitted changes in bot/ (the working tree was measured)"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "machine": f"{cpu}, {os.cpu_count()} cores, {memory}, {platform.platform()}",
        "python": platform.python_version(),
        "packages": ", ".join(versions),
    }


def _fmt(value: float | None, digits: int) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _value(value: float | None, row: Row) -> str:
    return _fmt(value, row.digits) + (f" {row.unit}" if row.unit and value is not None else "")


def _times(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio:.2f}×"


def table(rows: list[Row], before: str = "") -> str:
    """Render rows as a Markdown table; `before` names the `--baseline` commit's column."""
    if before:
        head = HEADER.replace(" | Naive", f" | Before ({before}) | Bot / before | Naive")
        lines = [head, "|---|---|---:|---:|---:|---:|---:|---|"]
    else:
        lines = [HEADER, "|---|---|---:|---:|---:|---|"]
    for row in rows:
        middle = f"{_value(row.before, row)} | {_times(row.change)} | " if before else ""
        lines.append(
            f"| {row.metric} | {row.target} | {_value(row.bot, row)} | {middle}"
            f"{_value(row.naive, row)} | {_times(row.ratio)} | {row.verdict} |"
        )
    return "\n".join(lines)


def all_rows(results: dict[str, Any]) -> list[Row]:
    """Collect every row, scenario by scenario, then the history benchmarks."""
    rows: list[Row] = []
    runs = results["runs"]
    for name in results["scenarios"]:
        before = runs.get("before", {}).get(name)
        rows += rows_for(name, runs["bot"].get(name), runs["naive"].get(name), before)
    if results.get("floor"):
        rows += floor_rows(results["floor"])
    for name, result in results["history"].items():
        rows += history_rows(name, result)
    return rows


def render(results: dict[str, Any]) -> str:
    """Return the whole RESULTS.md text."""
    meta = results["meta"]
    out = [
        "# Benchmark results",
        "",
        f"Produced by `{meta['command']}` ({meta['mode']} mode, {meta['elapsed']:.0f} s).",
        "Every figure is a measurement of this run; nothing is typed in by hand.",
        "",
        f"- Date: {meta['date']}",
        f"- Commit: {meta['commit']}",
        f"- Machine: {meta['machine']}",
        f"- Python {meta['python']}; {meta['packages']}",
        f"- Load average (1 min) before / after: {meta['load_before']} / {meta['load_after']}"
        " (other processes on the machine skew wall-clock latencies, not CPU time)",
        f"- Code state: {meta['code_state']}",
        *(
            [
                f"- Before: commit {meta['before']}, measured right after this tree, scenario by"
                " scenario, in the same session (`--baseline`)"
            ]
            if meta.get("before")
            else []
        ),
        f"- The bot's database in the latency, load and Tier-3 runs: {meta.get('db', 'sqlite')}"
        " (a fresh one per run)",
        "",
        "## Figures",
        "",
        table(all_rows(results), meta.get("before", "")),
        "",
        "## Scenarios",
        "",
        *[f"- {line}" for line in results["scenario_notes"]],
        "",
    ]
    for name, result in results["history"].items():
        out += [f"## History query plan, {name}", ""]
        out += ["```", result.get("plan") or result.get("error", ""), "```", ""]
    if results.get("profile"):
        out += ["## Profile of the hot path", "", results["profile"], ""]
    if results.get("notes"):
        out += ["## Findings", "", results["notes"].strip(), ""]
    return "\n".join(out)
