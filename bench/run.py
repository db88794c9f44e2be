"""Run the benchmark: fakes in one process, the bot (or the naive baseline) in others.

python -m bench            full mode (about 20 minutes), writes bench/RESULTS.md
python -m bench --quick    fewer, shorter runs without the 500 level (about 2 minutes)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import baseline, botside, floor, history, report, world
from bench.pgdb import postgres_database
from bench.profiling import summarize
from bench.scenarios import Scenario, plan

HERE = Path(__file__).resolve().parent
FLOOR = {"smoke": 500, "quick": 20_000, "full": 50_000}  # deltas in the one long stream
PACED = {"smoke": (3,), "quick": (10, 100), "full": (10, 100)}  # paced streams read at once
HISTORY = {"smoke": (200, 100, 3), "quick": (10_000, 20_000, 20), "full": (10_000, 20_000, 100)}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs (~2 minutes)")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)  # tests only
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"), help="where to write results")
    parser.add_argument("--only", default="", help="comma-separated scenario names to run")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    parser.add_argument(
        "--baseline",
        metavar="COMMIT",
        help="also measure the bot of an older commit, each scenario right after this tree's",
    )
    parser.add_argument(
        "--db", choices=("sqlite", "postgres"), default="sqlite", help="the bot's database"
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL history")
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled run (full)")
    parser.add_argument(
        "--render", metavar="JSON", help="only re-render the table from a saved run's raw results"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a bot Settings field (e.g. --set stream_mode=native)",
    )
    return parser.parse_args(argv)


class Processes:
    """Start the fakes' process once and bot processes on demand (spawned, never forked)."""

    def __init__(self, db: str) -> None:
        self.db = db
        self.ctx = mp.get_context("spawn")
        here, there = self.ctx.Pipe()
        self.world = self.ctx.Process(target=world.serve, args=(there,), name="bench-fakes")
        self.world.start()
        self.control_url = f"http://127.0.0.1:{json.loads(here.recv())['port']}"

    def run(
        self,
        kind: str,
        scenarios: list[Scenario],
        overrides: dict[str, Any],
        profile_path: str | None = None,
        tree: str | None = None,
    ) -> list[dict[str, Any]]:
        here, there = self.ctx.Pipe()
        args = (there, self.control_url, kind, scenarios, overrides, profile_path, self.db, tree)
        proc = self.ctx.Process(target=botside.work, args=args, name=f"bench-{kind}")
        proc.start()
        result = here.recv()
        proc.join()
        if isinstance(result, dict) and "error" in result:
            raise RuntimeError(
                f"{kind} run of {[s.name for s in scenarios]} failed: {result['error']}"
            )
        return result

    def floor(
        self, deltas: int, paced: tuple[int, ...], overrides: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        here, there = self.ctx.Pipe()
        args = (there, self.control_url, deltas, paced, overrides or {})
        proc = self.ctx.Process(target=floor.work, args=args)
        proc.start()
        result = here.recv()
        proc.join()
        return result

    def close(self) -> None:
        request = urllib.request.Request(self.control_url + "/shutdown", data=b"{}", method="POST")
        try:
            urllib.request.urlopen(request, timeout=5).close()
        except OSError:
            pass
        self.world.join(10)
        if self.world.is_alive():
            self.world.terminate()


def _groups(scenarios: list[Scenario]) -> list[list[Scenario]]:
    shared = [s for s in scenarios if not s.isolate]
    return ([shared] if shared else []) + [[s] for s in scenarios if s.isolate]


async def _histories(mode: str, postgres: bool) -> dict[str, Any]:
    messages, others, repeats = HISTORY[mode]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        out["SQLite"] = await history.run(
            f"sqlite+aiosqlite:///{tmp}/history.db",
            messages=messages,
            others=others,
            repeats=repeats,
        )
    if postgres:
        try:
            async with postgres_database() as url:
                out["PostgreSQL"] = await history.run(
                    url, messages=messages, others=others, repeats=repeats
                )
        except (OSError, ImportError) as exc:
            out["PostgreSQL"] = {"error": f"PostgreSQL not reachable: {exc}"}
    return out


def _code_state() -> str:
    try:
        from bot.settings import Settings

        fields = Settings.model_fields
    except Exception as exc:  # noqa: BLE001 - report what could not be read
        return f"could not read Settings ({exc})"
    budget = "edit_budget_per_minute" in fields
    state = "edit budget (issue 5) present" if budget else "no edit budget (issue 5 not landed)"
    if budget:
        state += (
            f": default {fields['edit_budget_per_minute'].default}/min, burst "
            f"{fields['edit_budget_burst'].default} per workspace"
        )
    if "stream_mode" in fields:
        state += f"; STREAM_MODE default {fields['stream_mode'].default!r}"
    return state


def main(argv: list[str] | None = None) -> int:
    """Run every scenario against the real bot and the baseline; write the results table."""
    args = _parse(argv)
    if args.render:
        results = json.loads(Path(args.render).read_text())
        results["notes"] = _findings(results["meta"]["mode"])
        return _write(results, args.out)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    only = {n for n in args.only.split(",") if n}
    scenarios = [s for s in plan(mode) if not only or s.name in only]
    overrides = dict(item.split("=", 1) for item in args.set)
    started, load_before = time.monotonic(), os.getloadavg()[0]
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {"bot": {}, "naive": {}, "before": {}}
    profile, before = "", ""
    with ExitStack() as stack:
        tree = None
        if args.baseline:
            path, before = stack.enter_context(baseline.checkout(args.baseline))
            tree = str(path)
        procs = Processes(args.db)
        stack.callback(procs.close)
        kinds = ["bot"] + (["before"] if tree else []) + ([] if args.no_naive else ["naive"])
        # Kinds alternate per scenario, so the figures compared were measured back to back.
        for group in _groups(scenarios):
            for kind in kinds:
                # The naive baseline runs each batch once: it is there for ratios, not spread.
                plan_ = group if kind != "naive" else [replace(s, repeats=1) for s in group]
                print(f"[bench] {kind}: {', '.join(s.name for s in plan_)}", file=sys.stderr)
                mine = tree if kind == "before" else None
                for result in procs.run(kind, plan_, overrides, tree=mine):
                    runs[kind].setdefault(result["scenario"], []).append(result)
        print("[bench] model client alone", file=sys.stderr)
        model_floor = procs.floor(FLOOR[mode], PACED[mode], overrides)
        target = next((s for s in scenarios if s.name == "load-100"), None)
        if target is not None and not args.no_profile and mode == "full":
            print("[bench] bot: profiled load-100", file=sys.stderr)
            with tempfile.TemporaryDirectory() as tmp:
                path_ = f"{tmp}/bot.prof"
                procs.run("bot", [replace(target, repeats=1)], overrides, path_)
                profile = summarize(path_)
    print("[bench] history load", file=sys.stderr)
    histories = asyncio.run(_histories(mode, postgres=not args.no_postgres))
    results = {
        "meta": {
            **report.machine(),
            "mode": mode,
            "elapsed": time.monotonic() - started,
            "command": " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)]),
            "load_before": f"{load_before:.2f}",
            "load_after": f"{os.getloadavg()[0]:.2f}",
            "code_state": _code_state() + (f"; overrides {overrides}" if overrides else ""),
            "db": args.db,
            "before": before,
        },
        "scenarios": [s.name for s in scenarios],
        "scenario_notes": [_describe(s) for s in scenarios],
        "runs": runs,
        "history": histories,
        "floor": model_floor,
        "profile": profile,
        "notes": _findings(mode),
    }
    # A partial run (--only, another database) must not overwrite a whole run's raw results.
    suffix = (
        ("-" + "-".join(sorted(only)) if only else "")
        + (f"-{args.db}" if args.db != "sqlite" else "")
        + (f"-vs-{before}" if before else "")
    )
    raw = Path(tempfile.gettempdir()) / "slackbot-bench" / f"results-{mode}{suffix}.json"
    raw.parent.mkdir(exist_ok=True)
    raw.write_text(json.dumps(results))
    print(f"[bench] raw results in {raw} (re-render with --render)", file=sys.stderr)
    return _write(results, args.out)


def _findings(mode: str) -> str:
    findings = HERE / "FINDINGS.md"
    return findings.read_text() if findings.exists() and mode != "smoke" else ""


def _write(results: dict[str, Any], out: str) -> int:
    Path(out).write_text(report.render(results))
    print(report.table(report.all_rows(results), results["meta"].get("before", "")))
    print(f"[bench] wrote {out}", file=sys.stderr)
    return 0


def _describe(s: Scenario) -> str:
    when = "all at once" if not s.spacing else f"one every {s.spacing * 1000:.0f} ms"
    text = (
        f"`{s.name}`: {s.replies} questions {when}; each answer {s.chars} characters in "
        f"{s.chars // s.pieces} deltas of {s.pieces}, one every {s.delay * 1000:.0f} ms "
        f"(~{s.chars / s.pieces * s.delay:.1f} s); {s.repeats} run(s)"
    )
    if s.rate_limits:
        text += "; fake Slack buckets " + ", ".join(
            f"{m} {pm:.0f}/min burst {b}" for m, (pm, b) in s.rate_limits.items()
        )
    if s.settings:
        text += "; bot settings " + ", ".join(f"{k}={v}" for k, v in s.settings.items())
    return text
