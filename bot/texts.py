"""Every short message a user can see from the bot, kept in one place."""

from datetime import datetime

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
# Ends the last message of a reply when Slack refused to take the rest of the answer.
REPLY_CUT_SHORT = "_:warning: Slack did not accept the rest of this answer; it is cut short here._"
NOT_ANSWERED = ":warning: I was restarting and could not answer this message. Please ask again."
STREAM_FAILED = "\n\n_:warning: The connection to the model broke and the answer is incomplete. Please ask again._"
TRUNCATED_INPUT = "\n\n[…the rest of this message was cut to fit the model's context…]"
MODEL_EVENT_TOO_LARGE = (
    ":warning: The model server sent a piece of its answer too large to read, so the answer "
    "stopped here. An admin can check the model server."
)
INTERNAL_ERROR = ":warning: Something went wrong on my side. Please try again."
INSTALL_REFUSED = (
    "This app is not available for your workspace, so it was not installed. Ask the app's "
    "operator if you think this is a mistake."
)
ACCESS_DENIED = "Sorry, I'm not enabled for you here. Ask a workspace admin if you need access."
TOOL_ROUNDS = "\n\n_:repeat: I stopped after too many tool steps in a row. Ask again to continue._"


def tool_status(names: str, *, done: bool = False) -> str:
    """Return the status line shown while tools run."""
    return f"_:white_check_mark: Used {names}, writing…_" if done else f"_:gear: Running {names}…_"


# Buttons, status and AI-app surfaces (docs/what-users-see.md).
STOP_BUTTON = "Stop"
STOP_NOT_ALLOWED = "Only <@{asker}>, who asked, or a workspace admin can stop this answer."
STOP_TOO_LATE = "This answer is no longer being written, so there is nothing to stop."
NEW_CONVERSATION = "New conversation"  # a thread title when the question has no words
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
CONFIG_GUEST = "Guests can see these settings but not change them."
CONFIG_OUTSIDER = "People from other organisations can see these settings but not change them."
CONFIG_NOT_EDITOR = "Only the people this bot's admin named can change these settings."
CONFIG_UNCHECKED = "I could not check whether you may change these settings; try again later."
CONFIG_BAD_MODEL = "Pick one of the allowed models."
CONFIG_MODEL_CHARSET = (
    "A model name is up to 128 letters, digits and . _ : / @ + - (like gpt-4o-mini or "
    "meta-llama/Llama-3.1-8B), starting with a letter, a digit or @."
)
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
    reasoning_effort: str = "",
) -> str:
    """Return the confirmation shown to whoever saved a channel's settings."""
    parts = [f"preset *{preset}*"]
    if language:
        parts.append(f"language *{language}*")
    if model:
        parts.append(f"model `{model}`")
    if temperature is not None:
        parts.append(f"temperature {temperature:g}")
    if reasoning_effort:
        parts.append(f"reasoning effort {reasoning_effort}")
    if custom_prompt:
        parts.append("a custom system prompt")
    return f":gear: Saved for <#{channel_id}>: " + ", ".join(parts) + "."


def config_summary(
    channel_id: str,
    preset: str,
    *,
    language: str = "",
    model: str = "",
    temperature: float | None = None,
    custom_prompt: bool = False,
) -> str:
    """Return the read-only summary shown to someone who may not change the settings."""
    lines = [f"How I answer in <#{channel_id}>:", f"• Preset: *{preset}*"]
    if language:
        lines.append(f"• Language: *{language}*")
    lines.append(f"• Model: `{model}`" if model else "• Model: the bot's default")
    if temperature is not None:
        lines.append(f"• Temperature: {temperature:g}")
    lines.append("• System prompt: " + ("a custom one" if custom_prompt else "the preset's"))
    return "\n".join(lines)


def usage_footer(prompt_tokens: int, completion_tokens: int, seconds: float) -> str:
    """Return the usage line added to a finished answer when USAGE_FOOTER is on."""
    rate = completion_tokens / seconds if seconds > 0 else 0.0
    return (
        f"\n\n_:bar_chart: {prompt_tokens:,} tokens in · {completion_tokens:,} out · "
        f"{seconds:.1f} s · {rate:.0f} tokens/s_"
    )


# Usage: /llm-usage, limits, the App Home summary (docs/usage-and-limits.md).
USAGE_LIMIT_WHO = {
    "user": "You have used your daily limit",
    "channel": "This channel has used its daily limit",
    "team": "This workspace has used its monthly limit",
}
USAGE_LIMIT_LABEL = {
    "user": "Your daily limit",
    "channel": "This channel's daily limit",
    "team": "Monthly limit",
}
USAGE_TITLE = "*Your usage*"
USAGE_TEAM_TITLE = "*This workspace this month*"
USAGE_TOP_USERS = "*Top users this month*"
USAGE_TOP_CHANNELS = "*Top channels this month*"
USAGE_TODAY = "Today"
USAGE_MONTH = "This month"
USAGE_NOTHING = "nothing yet"
USAGE_COST_UNKNOWN = "cost unknown (a model has no price)"
USAGE_ESTIMATED = " (partly estimated)"
USAGE_UNAVAILABLE = ":warning: I can't read the usage figures right now. Please try again shortly."


def _when(moment: datetime) -> str:
    return f"{moment.day} {moment:%B} at {moment:%H:%M} {moment.tzname()}"


def usage_limit_reached(scope: str, limit: int, resets: datetime) -> str:
    """Return the sentence shown instead of an answer when a usage limit is used up."""
    return f":no_entry: {USAGE_LIMIT_WHO[scope]} of {limit:,} tokens; it resets on {_when(resets)}."


def usage_figure(tokens: int, answers: int, cost: str, *, estimated: bool) -> str:
    """Return one usage figure: tokens, answers and money (when priced)."""
    if not answers:
        return USAGE_NOTHING
    plural = "answer" if answers == 1 else "answers"
    money = f" · {cost}" if cost else ""
    return f"{tokens:,} tokens in {answers:,} {plural}{money}" + (
        USAGE_ESTIMATED if estimated else ""
    )


def usage_limit_line(what: str, used: int, limit: int, resets: datetime) -> str:
    """Return how much of a limit is used and when it resets."""
    return f"{what}: {min(used, limit):,} of {limit:,} tokens used; resets on {_when(resets)}"


# Files in a question (docs/files.md): why a file was not read, one line each.
FILE_TOO_LARGE = "it is {size}, over the {limit} limit"
FILE_TOO_MANY = "only {count} files are read per question"
FILE_UNSUPPORTED = "I can't read this type of file ({kind})"
FILE_OTHER_ORG = "it comes from another organisation (Slack Connect) and I can't open it"
FILE_NOT_FOUND = "it is no longer in Slack"
FILE_FORBIDDEN = "Slack did not let me open it"
FILE_LOGIN_PAGE = "Slack sent a sign-in page instead of the file (the app may lack `files:read`)"
FILE_EXTERNAL_LINK = "it is a link to another service, not a file stored in Slack"
FILE_HIDDEN = "it is hidden by the workspace's plan limits"
FILE_DOWNLOAD_FAILED = "the download failed ({why})"
FILE_DOWNLOAD_SLOW = "the download took too long"
FILE_NOT_SHARED_HERE = "it is not shared in this conversation"
FILE_NO_TEXT = "it has no text in it"
FILE_NO_TEXT_PDF = "it has no text in it (a scanned PDF? I can't read text in pictures of pages)"
FILE_PASSWORD = "it is protected by a password"
FILE_BAD_PDF = "it could not be read as a PDF"
FILE_BINARY = "it looks like a binary file, not text"
FILE_BAD_IMAGE = "it could not be read as an image"
FILE_IMAGE_FORMAT = "it is not a PNG, JPEG, GIF or WebP image"
FILE_IMAGE_BOMB = "it has too many pixels to read safely"
FILE_UNREADABLE = "it could not be read ({why})"
FILE_READ_SLOW = "it took too long to read"
FILE_READER_DIED = "reading it failed (the reader ran out of memory?)"
FILE_OUT_OF_MEMORY = "reading it needed more memory than one file may use"
FILE_ZIP_TOO_LARGE = "it unpacks to {size}, more than the {limit} a document may"
FILE_ZIP_RATIO = "it is compressed {ratio} to 1, far more than a real document is"
FILE_NO_ROOM = "there is no room left for it in the model's context"
FILE_READING_OFF = "reading files is turned off for this bot (`FILES_MAX_PER_QUESTION=0`)"
FILE_VISION_OFF = "images are turned off for this bot (`VISION=false`)"
FILE_BLIND_MODEL = "this model cannot see images"
VISION_REFUSED = "_:see_no_evil: This model cannot see images, so I answered without them._"
IMAGES_REFUSED = (
    "_:see_no_evil: The model could not take these images, so I answered without them._"
)


def file_name(name: str) -> str:
    """Return a file name safe to show in backticks on one line."""
    clean = " ".join(name.replace("`", "'").split())
    return clean[:77] + "…" if len(clean) > 80 else clean


def file_skipped(name: str, reason: str) -> str:
    """Return the reply line for a file that was not read."""
    return f"_:paperclip: `{file_name(name)}` was not read: {reason}._"


def file_cut(name: str, what: str) -> str:
    """Return the reply line for a file read only in part."""
    return f"_:scissors: `{file_name(name)}`: {what}; the rest does not fit the model's context._"


def file_size(size: int) -> str:
    """Return a size in bytes as people write it (KB, MB)."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


FILE_CUT_SHARE = "only the first {share}% was read"
FILE_CUT_PAGES = "only pages 1–{last} of {total} were read"
FILE_CUT_FIRST_PAGE = "only page 1 of {total} was read"
FILE_CUT_ROWS = "only the first rows of sheet {sheet} were read"
FILE_CUT_MODEL_NOTE = "[…{name} is cut here: {what}; the rest does not fit the model's context…]"
# App Home, message shortcuts and the channel summary (docs/what-users-see.md).
MESSAGES_TAB_PROMPTS_TITLE = "How can I help you today?"
HOME_TITLE = "Your LLM assistant"
HOME_ABOUT = (
    "*What I can do*\n"
    "• Answer questions here in the Messages tab, or when you mention me in a channel; "
    "I keep following a thread I answered in.\n"
    "• On any message, open *More actions* (⋮): *Summarize thread*, *Translate* or "
    "*Ask about this message*. The answer comes to you privately, here.\n"
    "• Look things up while answering: the time, who you are, the channel, a pasted message "
    "link, or a summary of a channel's recent messages."
)
HOME_USAGE_TITLE = "*Your recent usage*"


def home_model(model: str) -> str:
    """Return the Home tab's line naming the model that answers."""
    return f"*Which model answers*\n`{model}`, unless a channel chose another one."


def home_settings(command: str) -> str:
    """Return the Home tab's line on changing a channel's settings."""
    if not command:
        return "*Channel settings*\nChannel settings are turned off on this bot."
    return (
        f"*Channel settings*\nType `{command}` in a channel (or in this DM) to choose how I answer "
        "there: a preset, a language, a system prompt, a model, a temperature."
    )


SHORTCUT_SUMMARIZE = "Summarize thread"
SHORTCUT_TRANSLATE = "Translate"
SHORTCUT_ASK = "Ask about this message"
ASK_MODAL_TITLE = "Ask about a message"
ASK_MODAL_LABEL = "Your question"
ASK_MODAL_SUBMIT = "Ask"
ASK_MODAL_INTRO = (
    "I answer privately, in your DM with me, with the message (and its thread) as context."
)
POST_SUMMARY_BUTTON = "Post in the thread"
POST_SUMMARY_OFFER = "Only you can see this summary. Share it with the thread?"
POST_SUMMARY_DONE = ":white_check_mark: Posted in the thread."
POST_SUMMARY_GONE = "I can't find that summary any more, so there is nothing to post."
POST_SUMMARY_PRIVATE = (
    ":lock: I did not post this summary: it draws on a conversation that not everyone in that "
    "thread may see. It stays here, in your messages with me."
)
POST_SUMMARY_UNCHECKED = (
    ":lock: I did not post this summary: it used tools whose sources I cannot check, so it "
    "stays here, in your messages with me."
)
SOURCE_NOT_VISIBLE = (
    ":lock: I can't read that conversation: I'm not a member of it. Invite me there "
    "(`/invite`) and try again."
)
SOURCE_NOT_ALLOWED = ":lock: You can't see that conversation yourself, so I won't read it for you."
SOURCE_RATE_LIMITED = (
    ":hourglass: Slack is limiting how often I can read threads right now. Try again in a minute."
)
SOURCE_EMPTY = "That message has no text for me to work with."


def shortcut_header(kind: str, permalink: str, channel_id: str) -> str:
    """Return the DM message that opens a shortcut's private answer."""
    where = f"<#{channel_id}>" if not channel_id.startswith("D") else "a direct message"
    link = f"<{permalink}|this message>" if permalink else "a message"
    return {
        "summarize": f":memo: Summary of the thread of {link} in {where}",
        "translate": f":globe_with_meridians: Translation of {link} in {where}",
    }.get(kind, f":speech_balloon: Your question about {link} in {where}")


def shared_summary(user_id: str, summary: str) -> str:
    """Return a summary posted in its thread at the request of `user_id`."""
    return f"_Summary of this thread, requested by <@{user_id}>:_\n\n{summary}"


TASK_THINKING = "Thinking"
TASK_THOUGHT = "Thought it through"


def earlier_answer(text: str) -> str:
    """Quote, for the model, a bot message that starts the thread it is asked in."""
    return f"(Earlier in this thread, you wrote:)\n{text}"


def thinking_for(seconds: float) -> str:
    """Return the placeholder's status line while a reasoning model thinks."""
    return f"_:thought_balloon: Thinking… {int(seconds)} s_"


def thinking_title(seconds: float) -> str:
    """Return the task card's title while a reasoning model thinks (native streaming)."""
    return f"Thinking… {int(seconds)} s"


def status_thinking_for(seconds: float) -> str:
    """Return the assistant-thread status while a reasoning model thinks."""
    return f"is thinking… {int(seconds)} s"
