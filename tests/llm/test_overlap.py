"""Joining a resumed answer to the text already shown, without repeats or losses."""

from __future__ import annotations

import pytest

from bot.llm.overlap import DECIDE_AFTER, continuation_start

SHOWN = "The quick brown fox jumps over the lazy dog, and then it runs into the for"


def join(shown: str, resumed_pieces: list[str]) -> str:
    """Feed pieces like a stream would and return shown + what the stream adds."""
    resumed = ""
    for i, piece in enumerate(resumed_pieces):
        resumed += piece
        skip = continuation_start(shown, resumed)
        if skip is not None:
            return shown + resumed[skip:] + "".join(resumed_pieces[i + 1 :])
    skip = continuation_start(shown, resumed, final=True)
    assert skip is not None
    return shown + resumed[skip:]


def pieces(text: str, size: int = 5) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def test_resume_that_starts_over_is_dropped_up_to_where_it_stopped() -> None:
    whole = SHOWN + "est at dusk."
    assert join(SHOWN, pieces(whole)) == whole


def test_resume_that_overlaps_mid_sentence_joins_on_the_overlap() -> None:
    resumed = "runs into the forest at dusk. It sleeps there until the morning comes back."
    assert join(SHOWN, pieces(resumed)) == SHOWN.removesuffix("runs into the for") + resumed


def test_clean_continuation_is_kept_whole() -> None:
    rest = "est at dusk, where it sleeps soundly until the sun comes up again over the hills."
    assert join(SHOWN, pieces(rest)) == SHOWN + rest


def test_short_clean_continuation_is_decided_when_the_stream_ends() -> None:
    assert continuation_start(SHOWN, "est.") is None  # could still be a restart
    assert continuation_start(SHOWN, "est.", final=True) == 0


def test_restart_shorter_than_what_was_shown_adds_nothing() -> None:
    assert continuation_start(SHOWN, SHOWN[:20]) is None
    assert continuation_start(SHOWN, SHOWN[:20], final=True) == 20


def test_short_accidental_overlap_is_not_taken_for_a_repeat() -> None:
    shown = "Use the for"
    rest = "mula for the area of a circle: pi times r squared, written as pi * r ** 2 in code."
    assert len(rest) >= DECIDE_AFTER
    assert continuation_start(shown, rest) == 0


@pytest.mark.parametrize("size", [1, 3, 7, 64, 500])
def test_join_does_not_depend_on_chunk_size(size: int) -> None:
    whole = SHOWN + "est at dusk. " * 10
    assert join(SHOWN, pieces(whole, size)) == whole
    resumed = "into the forest at dusk. " * 5
    assert join(SHOWN, pieces(resumed, size)) == SHOWN.removesuffix("into the for") + resumed
