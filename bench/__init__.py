"""Benchmarks: the real bot against fake Slack and model servers running in another process.

`python -m bench` (see docs/benchmarks.md) writes bench/RESULTS.md. Nothing here runs in the
pytest suite except tests/test_bench_smoke.py, which checks the table's shape, never timings.
"""
