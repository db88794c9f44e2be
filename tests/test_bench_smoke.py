"""The benchmark machinery runs end to end at tiny scale and writes a well-formed table.

Timings are never asserted: only that every scenario produced figures in the right shape.
"""

from __future__ import annotations

from pathlib import Path

from bench.report import HEADER
from bench.run import main

EXPECTED = [
    "Event → first visible reply, p95",
    "Model first token → visible in Slack, p95",
    "CPU per 1,000 deltas @2",
    "Resident memory per concurrent reply @2",
    "Tier-3 @3: 429s per run",
    "Tier-3 @3: replies edited while streaming",
    "History load 200 msgs, SQLite, p95",
    "History rows read, SQLite",
]


def test_bench_smoke_writes_a_well_formed_results_table(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    assert main(["--smoke", "--no-postgres", "--out", str(out)]) == 0
    text = out.read_text()
    lines = text.splitlines()
    start = lines.index(HEADER)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    assert all(len(cells) == 6 for cells in rows), rows
    by_metric = {cells[0]: cells for cells in rows}
    for metric in EXPECTED:
        assert metric in by_metric, f"missing row {metric!r}"
        metric_, target, bot, naive, ratio, verdict = by_metric[metric]
        assert bot != "–", f"no bot figure for {metric!r}"
        assert verdict in ("pass", "FAIL", "")
    for cells in rows:  # both columns were measured wherever the baseline applies
        if cells[0].startswith(("Event", "CPU", "Tier-3 @3: 429s")):
            assert cells[3] != "–", f"no baseline figure for {cells[0]!r}"
    assert "- Commit: " in text and "- Machine: " in text and "- Date: " in text
    assert "SEARCH messages USING" in text  # EXPLAIN QUERY PLAN of the real history query


def test_bench_baseline_measures_an_older_commit_beside_this_tree(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    argv = ["--smoke", "--no-postgres", "--no-naive", "--only", "load-2", "--out", str(out)]
    assert main([*argv, "--baseline", "HEAD"]) == 0
    text = out.read_text()
    head = next(line for line in text.splitlines() if line.startswith("| Metric |"))
    assert "| Before (" in head and "| Bot / before |" in head, head
    row = next(line for line in text.splitlines() if line.startswith("| CPU per 1,000 deltas @2"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2] != "–" and cells[3] != "–", f"both trees measured: {cells}"
    assert "- Before: commit " in text
