"""Sentences of tool approvals and the Workflow Builder step (the rest: bot/texts.py)."""

# Approval of tool calls that change things (bot.turns.approval)
APPROVE_BUTTON = "Approve"
DENY_BUTTON = "Deny"
TOOL_DECLINED = (
    "The user declined this tool call, so it was not run. Do not try it again in this answer; "
    "say what you would have done, or go on without it."
)
TOOL_EXPIRED = (
    "Nobody approved this tool call in time, so it was not run (the user declined). Do not try "
    "it again in this answer; say what you would have done, or go on without it."
)
APPROVAL_NOT_ALLOWED = "Only <@{asker}>, who asked, or an approver can decide on this tool call."
APPROVAL_ALREADY = "This tool call was already decided ({decision}); your click did not change it."
APPROVAL_PAUSED = (
    "\n\n_:double_vertical_bar: Paused while the bot restarts; the answer carries on once the tool "
    "call above is decided._"
)
APPROVAL_GONE = "This request is no longer known, so there is nothing to decide."


def approval_request(tool: str, asker: str, minutes: float) -> str:
    """Return the line above the arguments of a tool call waiting for Approve."""
    return (
        f":raised_hand: The model wants to run *{tool}* for <@{asker}>. Nothing runs until it is "
        f"approved; without an answer within {minutes:g} min it counts as declined."
    )


def approval_outcome(tool: str, decision: str, user: str | None) -> str:
    """Return what a decided approval request says in place of its buttons."""
    by = f" by <@{user}>" if user else ""
    said = {
        "approved": f":white_check_mark: *{tool}* was approved{by}.",
        "denied": f":no_entry_sign: *{tool}* was declined{by}; it was not run.",
        "expired": f":hourglass: *{tool}* was not approved in time; it was not run.",
    }
    return said.get(decision, f"*{tool}*: {decision}")


def approval_waiting(names: str) -> str:
    """Return the reply's status line while tool calls wait for a person."""
    return f"_:raised_hand: Waiting for approval to run {names}…_"


def status_approval(names: str) -> str:
    """Return the assistant-thread status while tool calls wait for a person."""
    return f"is waiting for approval to run {names}…"


# The Workflow Builder step "Ask the model" (bot.turns.workflow_step); a workflow author reads these
STEP_EMPTY_PROMPT = "The Prompt input of this step is empty: give it the question to ask."
STEP_TIMED_OUT = (
    "The model did not finish its answer within {seconds:g} seconds, the time this step allows. "
    "Try a shorter or simpler prompt, or ask the bot's admin to raise WORKFLOW_STEP_DEADLINE."
)
STEP_FAILED = "The model could not answer this step: {reason}"
STEP_CONTEXT_UNREADABLE = (
    "The bot could not read the context message {ts} in channel {channel} ({error}). Check that "
    "the bot is a member of that channel and that the message timestamp is right."
)
STEP_CONTEXT_HALF = (
    "The step has a context channel but no message timestamp, or the other way round."
)
STEP_RESTARTED = "The bot restarted before the answer was ready. Run the workflow again."
STEP_REFUSED = (
    "The bot's access lists (ALLOW_*/DENY_*) do not allow this step for that person, "
    "channel or workspace. Ask a workspace admin if you need access."
)
STEP_CUT = "\n\n[The answer was cut to {limit:,} characters to fit the workflow.]"


def step_question(prompt: str, context: str, channel: str) -> str:
    """Return the question of a workflow step, with its context message first when given."""
    if not context:
        return prompt
    return f"A message from channel {channel}, as context:\n\n{context}\n\n---\n\n{prompt}"
