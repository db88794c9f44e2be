"""One batch of N questions at once on one bot process, for overload checks.

python -m bench.overload 2000 max_concurrent_answers=0

Runs the load scenario's answers (1,200 characters in 300 deltas, one every 30 ms) for N
questions at once, once, with the edit budget opened wide, and prints CPU per 1,000 deltas,
the share answered whole, the batch's wall time and the placeholder's p95. FIELD=VALUE
arguments override bot Settings. Used to choose MAX_CONCURRENT_ANSWERS (bench/FINDINGS.md).
"""

from __future__ import annotations

import sys

from bench.figures import cpu_per_1000, whole_share
from bench.run import Processes
from bench.scenarios import WIDE, Scenario


def main(argv: list[str]) -> int:
    n, overrides = int(argv[0]), dict(a.split("=", 1) for a in argv[1:])
    procs = Processes("sqlite")
    try:
        scenario = Scenario(f"load-{n}", n, 1200, 4, 0.03, settings=WIDE)
        [run] = procs.run("bot", [scenario], overrides)
    finally:
        procs.close()
    shown = sorted(
        r["placeholder"] if r["placeholder"] is not None else 1e9 for r in run["replies"]
    )
    p95 = shown[max(0, int(len(shown) * 0.95) - 1)]
    cpu = cpu_per_1000(run) or 0.0
    print(
        f"{n} at once {overrides or ''}: CPU per 1,000 deltas {cpu:.3f} s, "
        f"whole {whole_share(run):.1%}, wall {run['wall']:.1f} s, placeholder p95 {p95:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
