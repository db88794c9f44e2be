"""The property-based interplay suite (issue 22, item 7), through the real app with the fakes.

`INTERPLAY_EXAMPLES` sets how many random interleavings run (default 6, well under a minute),
`INTERPLAY_STEPS` how many steps each has (default 12), `INTERPLAY_SEED_RANDOM=1` draws new
interleavings each run instead of the same ones, `INTERPLAY_SHRINK=1` shrinks a failure to
its shortest sequence (slow: every replay runs the real bot).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.interplay.machine import Interplay


def interplay_settings() -> settings:
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if os.environ.get("INTERPLAY_SHRINK"):
        phases.append(Phase.shrink)
    return settings(
        max_examples=int(os.environ.get("INTERPLAY_EXAMPLES", "6")),
        stateful_step_count=int(os.environ.get("INTERPLAY_STEPS", "12")),
        deadline=None,
        database=None,  # examples are not replayed from a local cache between runs
        derandomize=not os.environ.get("INTERPLAY_SEED_RANDOM"),
        phases=phases,
        suppress_health_check=list(HealthCheck),
    )


# A longer run (INTERPLAY_EXAMPLES) is not cut by the suite's per-test timeout.
LONG = pytest.mark.timeout(0 if os.environ.get("INTERPLAY_EXAMPLES") else 120)


@LONG
def test_interplay() -> None:
    run_state_machine_as_test(Interplay, settings=interplay_settings())
