"""`python -m bot usage [--since DATE] [--until DATE] [--team T] [--csv]`: records for billing."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from datetime import UTC, date, datetime
from typing import Any, TextIO

from bot.db.engine import create_engine
from bot.db.privacy import usage_row
from bot.settings import UsageExportSettings
from bot.usage.prices import PriceTable
from bot.usage.record import UsageLedger

COLUMNS = (
    "created_at",
    "team_id",
    "channel_id",
    "user_id",
    "thread_ts",
    "message_ts",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "total_tokens",
    "estimated",
    "duration_seconds",
    "tool_calls",
    "rounds",
    "status",
    "cost",
)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """Return a CSV cell a spreadsheet shows as text: a leading formula character is quoted.

    Text cells (a channel's model name, ids) are user-controlled: one starting with `=`,
    `+`, `-`, `@`, a tab or a carriage return is a formula in Excel, LibreOffice and Sheets.
    Numbers stay numbers.
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def moment(text: str) -> datetime:
    """Parse a date (`2026-11-01`, midnight UTC) or an ISO date-time (UTC unless it says)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None
    if len(text) == 10:
        parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare the command and its arguments."""
    cmd = sub.add_parser("usage", help="print the usage records (JSON lines, or CSV)")
    cmd.add_argument("--since", type=moment, help="from this date (YYYY-MM-DD, UTC) on")
    cmd.add_argument("--until", type=moment, help="before this date")
    cmd.add_argument("--team", default="", help="only this workspace (team id)")
    cmd.add_argument("--csv", action="store_true", help="CSV with a header instead of JSON lines")


def run(args: argparse.Namespace) -> int:
    """Print the records the arguments select."""
    return asyncio.run(export(args, UsageExportSettings(), sys.stdout))


async def export(args: argparse.Namespace, settings: UsageExportSettings, out: TextIO) -> int:
    """Write the records to `out`, with their cost when MODEL_PRICES prices the model."""
    engine = create_engine(settings.database_url)
    prices = PriceTable(settings.model_prices)
    writer = csv.DictWriter(out, fieldnames=COLUMNS) if args.csv else None
    if writer is not None:
        writer.writeheader()
    try:
        async for row in UsageLedger(engine).records(
            since=args.since, until=args.until, team_id=args.team
        ):
            record: dict[str, Any] = usage_row(row)
            cost = prices.cost(
                row.model, row.prompt_tokens, row.completion_tokens, row.cached_tokens
            )
            record["cost"] = None if cost is None else round(cost, 6)
            if writer is not None:
                writer.writerow({k: cell(v) for k, v in record.items()})
            else:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        await engine.dispose()
    return 0
