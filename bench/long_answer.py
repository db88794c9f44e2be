"""One 72,000-character answer the model writes in 0.3 s, shown at Slack's pace.

python -m bench.long_answer [FIELD=VALUE ...]

The real bot (default Settings: `chat.update` budget 45 a minute, burst 20) against the fake
Slack enforcing chat.postMessage at one message a second (no burst: a strict reading of
"about one a second per channel") and a Tier-3 bucket on chat.update, on an otherwise idle
workspace. Prints the time from the model's last chunk to the whole answer shown, the
messages it spans and the Slack calls per message. Figures: bench/FINDINGS.md.
"""

from __future__ import annotations

import sys

from bench.run import Processes
from bench.scenarios import Scenario

CHARS, PIECES, SECONDS = 72_000, 400, 0.3
LIMITS = {"chat.postMessage": (60.0, 1), "chat.update": (100.0, 30)}


def main(argv: list[str]) -> int:
    overrides = dict(a.split("=", 1) for a in argv)
    deltas = CHARS // PIECES
    scenario = Scenario(
        "long-72k", 1, CHARS, PIECES, SECONDS / deltas, rate_limits=LIMITS, isolate=True
    )
    procs = Processes("sqlite")
    try:
        [run] = procs.run("bot", [scenario], overrides)
    finally:
        procs.close()
    [reply] = run["replies"]
    methods = run["slack_methods"]
    writes = sum(methods.get(m, 0) for m in ("chat.postMessage", "chat.update"))
    landed = writes - run["rate_limited"]  # 429s are retried after Retry-After
    parts = max(1, reply["parts"])
    last = reply["last_lag"]
    print(
        f"72k answer {overrides or ''}: whole {reply['whole']}, "
        f"last chunk -> whole {'never' if last is None else f'{last:.1f} s'}, "
        f"{parts} messages, {methods.get('chat.postMessage', 0)} chat.postMessage, "
        f"{methods.get('chat.update', 0)} chat.update ({run['rate_limited']} answered 429), "
        f"{landed / parts:.2f} writes landed a message"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
