"""Every short message a user can see from the bot, kept in one place."""

PLACEHOLDER = "_Thinking…_"
EMPTY_MENTION = "Hi! Ask me anything: mention me with a question, or write to me in a DM."
MODEL_ERROR = ":warning: The model could not answer right now. Please try again in a moment."
MODEL_AUTH = (
    ":warning: The model rejected the bot's credentials. An admin needs to check `OPENAI_API_KEY`."
)
MODEL_NOT_FOUND = ":warning: The configured model does not exist on the model server. An admin needs to check `OPENAI_MODEL`."
MODEL_RATE_LIMITED = ":hourglass: The model is busy (rate limited). Please try again in a minute."
CONTEXT_TOO_LONG = (
    ":warning: This conversation is too long for the model. Start a new thread to continue."
)
CONTENT_FILTERED = (
    "\n\n_:no_entry: The model stopped: its content filter blocked the rest of this answer._"
)
LENGTH_LIMIT = "\n\n_:scissors: The answer was cut off at the model's output limit._"
MODEL_CONTENT_BLOCKED = (
    ":no_entry: The model's content filter blocked this request, so it was not answered."
)
TURN_TIMED_OUT = "\n\n_:hourglass: This answer took too long and was stopped. Please ask again._"
STORAGE_DOWN = (
    ":warning: I can't reach my database right now, so I can't answer. Please try again shortly."
)
STOPPED_BY_USER = "\n\n_:black_square_for_stop: Stopped._"
INTERRUPTED = "\n\n_:warning: This answer was interrupted. Please ask again._"
NOT_ANSWERED = ":warning: I was restarting and could not answer this message. Please ask again."
STREAM_FAILED = "\n\n_:warning: The connection to the model broke and the answer is incomplete. Please ask again._"
TRUNCATED_INPUT = "\n\n[…the rest of this message was cut to fit the model's context…]"
INTERNAL_ERROR = ":warning: Something went wrong on my side. Please try again."
ACCESS_DENIED = "Sorry, I'm not enabled for you here. Ask a workspace admin if you need access."
TOOL_ROUNDS = "\n\n_:repeat: I stopped after too many tool steps in a row. Ask again to continue._"


def tool_status(names: str, *, done: bool = False) -> str:
    """Return the status line shown while tools run."""
    return f"_:white_check_mark: Used {names}, writing…_" if done else f"_:gear: Running {names}…_"


# Buttons, status and AI-app surfaces (README "What users see").
STOP_BUTTON = "Stop"
STOP_NOT_ALLOWED = "Only <@{asker}>, who asked, or a workspace admin can stop this answer."
STOP_TOO_LATE = "This answer is no longer being written, so there is nothing to stop."
FEEDBACK_GOOD = "👍 Helpful"
FEEDBACK_BAD = "👎 Not helpful"
FEEDBACK_GOOD_LABEL = "Mark this answer as helpful"
FEEDBACK_BAD_LABEL = "Mark this answer as not helpful"
FEEDBACK_THANKS = {
    "good": "Thanks for the feedback! Glad it helped.",
    "bad": "Thanks for the feedback. Ask again with more detail and I'll try to do better.",
}
STATUS_THINKING = "is thinking…"
ASSISTANT_GREETING = "Hi! I'm here to help. Ask me anything, or pick one of the suggestions."
SUGGESTED_PROMPTS_TITLE = "Try one of these:"
SUGGESTED_PROMPTS = (
    ("Summarize a text", "Summarize the following text in three bullet points:"),
    ("Draft a message", "Help me write a friendly, short message to my team about"),
    ("Explain code", "Explain what this code does, step by step:"),
    ("Translate", "Translate into English:"),
)
CONFIG_BAD_PRESET = "Pick one of the presets."
CONFIG_NEED_LANGUAGE = "The Translate preset needs a language, e.g. German."
CONFIG_BAD_TEMPERATURE = "Use a number from 0 to 2, or leave it empty."
CONFIG_LOST_CHANNEL = "This form lost track of its channel. Run the command again."
CONFIG_MCP_LABEL = "Tools from MCP servers (all ticked: every server, also ones added later)"


def status_running(names: str) -> str:
    """Return the assistant-thread status shown while tools run."""
    return f"is running {names}…"


def config_intro(channel_id: str) -> str:
    """Return the first line of the settings modal."""
    return f"How I answer in <#{channel_id}>. Everyone in the channel shares these settings."


def config_saved(
    channel_id: str,
    preset: str,
    *,
    language: str = "",
    model: str = "",
    temperature: float | None = None,
    custom_prompt: bool = False,
) -> str:
    """Return the confirmation shown to whoever saved a channel's settings."""
    parts = [f"preset *{preset}*"]
    if language:
        parts.append(f"language *{language}*")
    if model:
        parts.append(f"model `{model}`")
    if temperature is not None:
        parts.append(f"temperature {temperature:g}")
    if custom_prompt:
        parts.append("a custom system prompt")
    return f":gear: Saved for <#{channel_id}>: " + ", ".join(parts) + "."


def usage_footer(prompt_tokens: int, completion_tokens: int, seconds: float) -> str:
    """Return the usage line added to a finished answer when USAGE_FOOTER is on."""
    rate = completion_tokens / seconds if seconds > 0 else 0.0
    return (
        f"\n\n_:bar_chart: {prompt_tokens:,} tokens in · {completion_tokens:,} out · "
        f"{seconds:.1f} s · {rate:.0f} tokens/s_"
    )
