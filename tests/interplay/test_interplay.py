"""The property-based interplay suite (issue 22, item 7), through the real app with the fakes.

`INTERPLAY_EXAMPLES` sets how many random interleavings run (default 6, about a minute);
`INTERPLAY_STEPS` how many steps each has (default 12).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.interplay.machine import Interplay


def test_interplay() -> None:
    run_state_machine_as_test(
        Interplay,
        settings=settings(
            max_examples=int(os.environ.get("INTERPLAY_EXAMPLES", "6")),
            stateful_step_count=int(os.environ.get("INTERPLAY_STEPS", "12")),
            deadline=None,
            database=None,  # examples are not replayed from a local cache between runs
            derandomize=not os.environ.get("INTERPLAY_SEED_RANDOM"),
            suppress_health_check=list(HealthCheck),
        ),
    )
