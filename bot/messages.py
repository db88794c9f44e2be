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
STORAGE_DOWN = (
    ":warning: I can't reach my database right now, so I can't answer. Please try again shortly."
)
INTERRUPTED = "\n\n_:warning: This answer was interrupted. Please ask again._"
STREAM_FAILED = "\n\n_:warning: The connection to the model broke and the answer is incomplete. Please ask again._"
TRUNCATED_INPUT = "\n\n[…the rest of this message was cut to fit the model's context…]"
INTERNAL_ERROR = ":warning: Something went wrong on my side. Please try again."
TOOL_ROUNDS = "\n\n_:repeat: I stopped after too many tool steps in a row. Ask again to continue._"


def tool_status(names: str, *, done: bool = False) -> str:
    """Return the status line shown while tools run."""
    return f"_:white_check_mark: Used {names}, writing…_" if done else f"_:gear: Running {names}…_"
