"""The property-based interplay suite (issue 22, item 7), through the real app with the fakes.

`INTERPLAY_EXAMPLES` sets how many random interleavings run (default 6, well under a minute),
`INTERPLAY_STEPS` how many steps each has (default 12), `INTERPLAY_SEED_RANDOM=1` draws new
interleavings each run instead of the same ones, `INTERPLAY_SHRINK=1` shrinks a failure to
its shortest sequence (slow: every replay runs the real bot).
"""

from __future__ import annotations

import asyncio
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


@LONG
def test_interplay_of_shares_and_image_refusals() -> None:
    """One fixed interleaving that takes every share and image-refusal path at least once.

    Random examples reach them only now and then (a share needs a public thread first, an
    image refusal then an accepted image); this sequence makes sure they run in every CI
    run, with the same invariants after every step and at teardown.
    """
    from bot.llm.model_facts import NO_IMAGES

    machine = Interplay()
    steps = [
        lambda: machine.mention(user="U1", private=False, fault="none", twice=False),
        lambda: machine.image_question(user="U2", vision=False, aged=False),
        lambda: machine.share(pick=0, user="U2", private=True, post=True),
        lambda: machine.follow_up(pick=1, user="U1", fault="slow"),
        lambda: machine.mention(user="U2", private=True, fault="none", twice=False),
        lambda: machine.quiet(),
        lambda: machine.image_question(user="U1", vision=True, aged=False),  # still blind
        lambda: machine.share(pick=1, user="U1", private=False, post=True),
        lambda: machine.quiet(),
    ]
    try:
        for step in steps:
            step()
            machine.nothing_private_in_a_public_thread()
            machine.the_model_is_never_asked_twice_for_one_message()
        assert machine.refused_images(), "an image was refused"
        assert machine.model.knows(NO_IMAGES), "and the model is believed blind"
        machine.image_question(user="U2", vision=True, aged=True)  # the fact expired: tried again
        machine.quiet()
        assert not machine.model.knows(NO_IMAGES), "an answer took the image: fact forgotten"
        # Contradicted, not expired: an answer took its image and is still streaming; the
        # server loses image input and refuses another question's (learned); the first ends.
        held = len(machine.questions)
        machine.held[held] = gate = asyncio.Event()
        machine.image_question(user="U1", vision=True, aged=False)
        machine.run(machine.slack.wait_for(lambda: held in machine.accepted_images.values()))
        machine.image_question(user="U2", vision=False, aged=False)
        machine.run(machine.slack.wait_for(lambda: machine.model.knows(NO_IMAGES)))
        gate.set()
        machine.quiet()
        assert not machine.model.knows(NO_IMAGES), "the slow answer that took images contradicts it"
        assert sorted(machine.clicked.values()) == [False, True], "both kinds of share clicked"
    finally:
        machine.teardown()
