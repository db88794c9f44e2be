"""Markdown to Slack and Slack text to the model, one quirk per test."""

from __future__ import annotations

from bot.slack.reply.format import from_slack, to_slack
from bot.slack.reply.markup import ReplyMarkup, markdown_of, parse_feedback


def test_standard_markdown_passes_through_unchanged() -> None:
    text = (
        "# Title\n\n**bold**, *italic*, ~~gone~~, `code` and [a link](https://example.com)\n\n"
        "- one\n- two\n  1. nested\n\n> a quote\n\n```python\nprint('hi')\n```"
    )
    assert to_slack(text) == text


def test_table_becomes_an_aligned_code_block() -> None:
    table = (
        "Prices:\n\n| Fruit | **Qty** | Note |\n|:------|------:|:----:|\n"
        "| apple | 3 | [site](https://a.example) |\n| 梨 | 12 | `x` |\n\nDone."
    )
    assert to_slack(table) == (
        "Prices:\n\n```\n"
        "Fruit | Qty |           Note\n"
        "------+-----+-------------------------\n"
        "apple |   3 | site (https://a.example)\n"
        "梨    |  12 |            x\n"
        "```\n\nDone."
    )


def test_table_inside_a_code_block_stays_as_written() -> None:
    text = "```\n| a | b |\n|---|---|\n| 1 | 2 |\n```"
    assert to_slack(text) == text


def test_broadcast_mentions_from_the_model_are_defused() -> None:
    assert to_slack("Hey <!channel> and <!here|here>") == "Hey &lt;!channel> and &lt;!here|here>"


def test_user_mentions_and_channel_links_stay_live() -> None:
    assert to_slack("Ask <@U123ABC> in <#C42|general>") == "Ask <@U123ABC> in <#C42|general>"


def test_angle_brackets_outside_code_are_escaped_inside_code_kept() -> None:
    text = "Use Vec<String> or `Vec<u8>` here:\n\n```rust\nlet v: Vec<i32> = a<b;\n```"
    assert to_slack(text) == (
        "Use Vec&lt;String> or `Vec<u8>` here:\n\n```rust\nlet v: Vec<i32> = a<b;\n```"
    )


def test_mrkdwn_links_become_markdown_links() -> None:
    assert to_slack("See <https://x.example/a?b=1&c=2|the docs> or <https://y.example>.") == (
        "See [the docs](https://x.example/a?b=1&c=2) or https://y.example."
    )


def test_ampersand_is_escaped_only_where_it_would_read_as_an_entity() -> None:
    assert to_slack("Tom & Jerry write &lt; as `&lt;`") == "Tom & Jerry write &amp;lt; as `&lt;`"


def test_dangling_bold_is_closed_while_streaming_and_left_alone_when_final() -> None:
    assert to_slack("The **important pa", partial=True) == "The **important pa**"
    assert to_slack("Done: **", partial=True) == "Done:"
    assert to_slack("Use `pip inst", partial=True) == "Use `pip inst`"
    assert to_slack("**a** and ~~b", partial=True) == "**a** and ~~b~~"
    assert to_slack("The **important pa") == "The **important pa"


def test_open_code_fence_while_streaming_is_not_touched() -> None:
    text = "Code:\n\n```python\nx = '**'"
    assert to_slack(text, partial=True) == text


def test_slack_text_is_unescaped_for_the_model() -> None:
    assert from_slack("if a &lt; b &amp;&amp; c &gt; d") == "if a < b && c > d"
    assert from_slack("hi <@U1|ada> see <#C2|general>") == "hi <@U1> see <#C2|general>"
    assert from_slack("<!here> read <https://a.example/x?y=1&amp;z=2|the page>") == (
        "@here read [the page](https://a.example/x?y=1&z=2)"
    )
    assert from_slack(
        "<https://b.example> <mailto:a@b.example|a@b.example> <!subteam^S1|@devs>"
    ) == ("https://b.example a@b.example @devs")


def test_markup_uses_markdown_text_without_buttons_and_blocks_with_them() -> None:
    plain = ReplyMarkup()
    assert plain.content("Hi <!here>", "final") == {"markdown_text": "Hi &lt;!here>"}
    live = ReplyMarkup(stop_value="1.2")
    streaming = live.content("Hello **wor", "streaming")
    assert [b["type"] for b in streaming["blocks"]] == ["markdown", "actions"]
    assert markdown_of(streaming) == "Hello **wor**" and streaming["text"] == "Hello **wor**"
    # Once a message carries blocks, every state sets them explicitly (buttons or none):
    # chat.update keeps blocks it is not given, so `markdown_text` alone could leave Stop.
    only_text = {"blocks": [{"type": "markdown", "text": "Hello world"}], "text": "Hello world"}
    assert live.content("Hello world", "closed") == only_text
    assert live.content("Hello world", "final") == only_text
    live.feedback_id = 42
    final = live.content("Hello world", "final")
    assert [b["type"] for b in final["blocks"]] == ["markdown", "context_actions"]
    buttons = final["blocks"][1]["elements"][0]
    assert parse_feedback(buttons["positive_button"]["value"]) == ("good", 42)
    assert parse_feedback(buttons["negative_button"]["value"]) == ("bad", 42)
    assert parse_feedback("good:x") is None and parse_feedback("meh:1") is None


def test_long_fallback_text_is_cut_below_the_update_limit() -> None:
    content = ReplyMarkup(stop_value="1.2").content("x" * 3900, "streaming")
    assert len(content["text"]) == 3000 and markdown_of(content) == "x" * 3900


def test_table_cell_backticks_cannot_close_the_code_block() -> None:
    shown = to_slack("| a |\n|---|\n| ``` |\n| <!channel> hi |")
    assert shown == "```\na\n-------------\nˋˋˋ\n<ǃchannel> hi\n```"


def test_broadcast_tokens_inside_code_are_defused() -> None:
    assert to_slack("`<!here>` and\n```\n<!subteam^S1>\n```") == (
        "`<ǃhere>` and\n```\n<ǃsubteam^S1>\n```"
    )


def test_link_label_that_looks_like_another_address_shows_the_real_target() -> None:
    assert to_slack("[https://slack.com](https://evil.example)") == "https://evil.example"
    assert to_slack("[www.google.com](http://evil.example/a)") == "http://evil.example/a"
    assert to_slack("<https://evil.example|slack.com>") == "https://evil.example"
    kept = "[slack.com](https://api.slack.com/x) [Node.js](https://nodejs.org) [setup.py](https://x.io)"
    assert to_slack(kept) == kept


def test_reference_link_with_a_disguised_label_shows_the_real_target() -> None:
    text = "Go [https://slack.com][1] or [ok][2].\n\n[1]: https://evil.example\n[2]: https://ok.example"
    assert to_slack(text).startswith("Go https://evil.example or [ok][2].")
