"""Turn raw runs into the figures of the results table: (metric, target, bot, naive, pass)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.stats import median, percentile


@dataclass
class Row:
    """One line of the results table."""

    metric: str
    target: str
    bot: float | None
    naive: float | None
    unit: str = ""
    check: Callable[[float], bool] | None = None
    digits: int = 1
    before: float | None = None  # the same figure for `--baseline COMMIT`'s bot

    @property
    def ratio(self) -> float | None:
        if self.bot is None or self.naive in (None, 0):
            return None
        return self.bot / self.naive  # type: ignore[operator]

    @property
    def change(self) -> float | None:
        if self.bot is None or self.before in (None, 0):
            return None
        return self.bot / self.before  # type: ignore[operator]

    @property
    def verdict(self) -> str:
        if self.check is None:
            return ""
        return "n/a" if self.bot is None else ("pass" if self.check(self.bot) else "FAIL")


def _replies(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for run in runs for r in run["replies"]]


def _values(runs: list[dict[str, Any]], key: str, scale: float = 1.0) -> list[float]:
    return [r[key] * scale for r in _replies(runs) if r[key] is not None]


def _p(runs: list[dict[str, Any]], key: str, q: float, scale: float = 1.0) -> float | None:
    return percentile(_values(runs, key, scale), q)


def _per_run(
    runs: list[dict[str, Any]], fn: Callable[[dict[str, Any]], float | None]
) -> float | None:
    values = [v for v in (fn(run) for run in runs) if v is not None]
    return median(values)


def cpu_per_1000(run: dict[str, Any]) -> float | None:
    deltas = sum(r["deltas"] for r in run["replies"])
    return run["cpu"] / deltas * 1000 if deltas else None


def cpu_per_reply_ms(run: dict[str, Any]) -> float | None:
    n = len(run["replies"])
    return run["cpu"] / n * 1000 if n else None


def kb_per_reply(run: dict[str, Any]) -> float | None:
    n = len(run["replies"])
    return (run["rss_peak_kb"] - run["rss0_kb"]) / n if n else None


def whole_share(run: dict[str, Any]) -> float:
    return sum(r["whole"] for r in run["replies"]) / max(1, len(run["replies"]))


def calls_per_reply(run: dict[str, Any]) -> float:
    return sum(r["calls"] for r in run["replies"]) / max(1, len(run["replies"]))


Runs = list[dict[str, Any]] | None
Measure = Callable[[list[dict[str, Any]]], float | None]


def _row(
    metric: str,
    target: str,
    measure: Measure,
    runs: tuple[Runs, Runs, Runs],
    unit: str,
    check: Callable[[float], bool] | None = None,
    digits: int = 1,
) -> Row:
    bot, naive, before = (measure(r) if r else None for r in runs)
    return Row(metric, target, bot, naive, unit, check, digits, before)


def _edited_while_streaming(run: dict[str, Any]) -> float:
    return sum(r["partial_edits"] > 0 for r in run["replies"]) / max(1, len(run["replies"]))


def rows_for(name: str, bot: Runs, naive: Runs, before: Runs = None) -> list[Row]:
    """Return the table rows of one scenario (`before`: the `--baseline` commit's runs)."""
    both = (bot, naive, before)
    ms = 1000.0

    def p(key: str, q: float, scale: float = 1.0) -> Measure:
        return lambda runs: _p(runs, key, q, scale)

    def per_run(fn: Callable[[dict[str, Any]], float | None]) -> Measure:
        return lambda runs: _per_run(runs, fn)

    whole = per_run(whole_share)
    if name == "latency":
        return [
            _row("Event → first visible reply, p50", "", p("placeholder", 50, ms), both, "ms"),
            _row(
                "Event → first visible reply, p95",
                "< 50 ms",
                p("placeholder", 95, ms),
                both,
                "ms",
                lambda v: v < 50,
            ),
            _row(
                "Model first token → visible in Slack, p50",
                "",
                p("first_token", 50, ms),
                both,
                "ms",
            ),
            _row(
                "Model first token → visible in Slack, p95",
                "< 150 ms",
                p("first_token", 95, ms),
                both,
                "ms",
                lambda v: v < 150,
            ),
            _row("Longest visible lag per reply, p95", "", p("max_lag", 95), both, "s", digits=2),
            _row("Answered whole", "100 %", whole, both, "share", lambda v: v == 1.0, 3),
        ]
    n = name.split("-", 1)[-1]
    if name.startswith("short-"):  # answers of a few deltas: what a reply costs apart from them
        return [
            _row(
                f"CPU per reply @{n}, 10-delta answers (the per-reply part)",
                "",
                per_run(cpu_per_reply_ms),
                both,
                "CPU-ms",
            ),
            _row(
                f"Slack calls per reply @{n}, 10-delta answers",
                "",
                per_run(calls_per_reply),
                both,
                "calls",
            ),
        ]
    if name.startswith("load-"):
        return [
            _row(
                f"CPU per 1,000 deltas @{n}",
                "< 0.1 CPU-s",
                per_run(cpu_per_1000),
                both,
                "CPU-s",
                lambda v: v < 0.1,
                3,
            ),
            _row(
                f"Resident memory per concurrent reply @{n}",
                "< 200 KB",
                per_run(kb_per_reply),
                both,
                "KB",
                lambda v: v < 200,
                0,
            ),
            _row(f"Answered whole @{n}", "100 %", whole, both, "share", lambda v: v == 1.0, 3),
            _row(f"Slack calls per reply @{n}", "", per_run(calls_per_reply), both, "calls"),
            _row(f"Event → first visible reply p95 @{n}", "", p("placeholder", 95, ms), both, "ms"),
            _row(f"Model first token → visible p95 @{n}", "", p("first_token", 95, ms), both, "ms"),
        ]
    if name.startswith("tier3-"):
        # The targets are issue 5's, for the default budget; a "-matched" run (the budget set
        # near the fake's bucket) is there to compare, without targets.
        matched = name.endswith("-matched")
        n = n.removesuffix("-matched")
        label = f"Tier-3 @{n}" + (", budget near the fake's bucket" if matched else "")

        def goal(text: str, check: Callable[[float], bool]) -> tuple[str, Any]:
            return ("", None) if matched else (text, check)

        all_of, none = goal("100 %", lambda v: v == 1.0), goal("0", lambda v: v == 0)
        return [
            _row(f"{label}: answered whole", all_of[0], whole, both, "share", all_of[1], 3),
            _row(
                f"{label}: 429s per run",
                none[0],
                per_run(lambda x: x["rate_limited"]),
                both,
                "429s",
                none[1],
                0,
            ),
            _row(
                f"{label}: replies edited while streaming",
                all_of[0],
                per_run(_edited_while_streaming),
                both,
                "share",
                all_of[1],
                3,
            ),
            _row(f"{label}: edits per reply, median", "", p("edits", 50), both, "edits"),
            _row(f"{label}: edits per reply, min", "", p("edits", 0), both, "edits", digits=0),
            _row(f"{label}: Slack calls per reply", "", per_run(calls_per_reply), both, "calls"),
            _row(f"{label}: longest visible lag", "", p("max_lag", 100), both, "s", digits=2),
        ]
    return []


def history_rows(name: str, result: dict[str, Any]) -> list[Row]:
    """Return the rows of one database's history benchmark."""
    if "error" in result:
        return [Row(f"History load, {name}", "< 20 ms", None, None, "ms", lambda v: v < 20)]
    ms, title = 1000.0, f"History load {result['messages']:,} msgs, {name}"
    return [
        Row(f"{title}, p50", "", result["p50"] * ms, result["naive_p50"] * ms, "ms"),
        Row(
            f"{title}, p95",
            "< 20 ms",
            result["p95"] * ms,
            result["naive_p95"] * ms,
            "ms",
            lambda v: v < 20,
        ),
        Row(
            f"History rows read, {name}",
            "budgeted window",
            result["rows_read"],
            result["naive_rows"],
            "rows",
            digits=0,
        ),
        Row(
            f"History rows kept by the budget, {name}",
            "",
            result["rows_kept"],
            None,
            "rows",
            digits=0,
        ),
    ]


def _per_1000(label: str, mine: dict[str, Any], raw: dict[str, Any]) -> Row:
    """A reader's CPU per 1,000 deltas beside the raw reader's, on the same streams."""
    return Row(
        label,
        "",
        mine["cpu"] / max(1, mine["deltas"]) * 1000,
        raw["cpu"] / max(1, raw["deltas"]) * 1000,
        "CPU-s",
        digits=3,
    )


def floor_rows(result: dict[str, Any]) -> list[Row]:
    """Return the model-client-alone rows: the SDK path beside a raw SSE reader."""
    sdk = result["sdk"]
    rows = [
        _per_1000(
            f"Model stream alone, CPU per 1,000 deltas ({sdk['deltas']:,} deltas; baseline: "
            "raw SSE + json.loads)",
            sdk,
            result["raw"],
        )
    ]
    # "paced_sdk" is the one level of results saved before each level had its own key.
    levels = [k[: -len("_sdk")] for k in result if k.startswith("paced") and k.endswith("_sdk")]
    for level in levels:
        paced = result[f"{level}_sdk"]
        rows.append(
            _per_1000(
                f"Model streams alone, CPU per 1,000 deltas ({paced['streams']} at once, "
                "a delta every 30 ms each; baseline: raw aiohttp + json.loads)",
                paced,
                result[f"{level}_raw"],
            )
        )
    return rows
