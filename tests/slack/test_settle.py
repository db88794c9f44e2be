"""What a native stream may append for good while the answer is still growing."""

from __future__ import annotations

from bot.slack.reply.settle import settled


def test_whole_words_only() -> None:
    assert settled("Hello wor") == len("Hello ")
    assert settled("Hello world\n") == len("Hello world\n")
    assert settled("Hel") == 0


def test_a_table_waits_for_its_paragraph_to_end() -> None:
    text = "Intro.\n\n| a | b |\n|---|---|\n| 1 |"
    assert settled(text) == len("Intro.\n\n")
    done = "Intro.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nAfter "
    assert settled(done) == len(done)


def test_open_inline_code_and_slack_tokens_wait() -> None:
    assert settled("Use `Vec<String> for ") == len("Use ")
    assert settled("See <https://example.com|the docs ") == len("See ")
    assert settled("a < b and ") == len("a < b and ")


def test_code_blocks_are_shown_as_written() -> None:
    text = "```rust\nlet v: Vec<String"
    assert settled(text) == len("```rust\nlet v: ")


def test_start_skips_what_belongs_to_an_earlier_message() -> None:
    assert settled("old text | x\n\nnew wor", start=len("old text | x\n\n")) == len(
        "old text | x\n\nnew "
    )
