"""Where Slack content may be repeated: the rule `read_slack_message` applies before reading.

Content of a private channel, group DM or DM goes only back into that same conversation or
into the asking person's own DM with the bot. Content of a public channel does not go into a
conversation shared with another organisation (Slack Connect), and not into a thread where
anyone who wrote (not only whoever wrote last) is a guest, from another organisation, or
otherwise unable to see that channel: in a shared thread one person's harmless follow-up
must not unlock another person's request.
"""

from __future__ import annotations

from typing import Any

from bot.tools.visibility import SlackCall, asker_can_read, who_can_read

MAX_PARTICIPANTS = 25  # people checked one by one (users.info each); more is refused

PRIVATE_ELSEWHERE = (
    "That conversation is private, so I only repeat its content in that conversation itself "
    "or in the asking person's own direct messages with me; ask me there instead."
)
ASKER_NOT_MEMBER = (
    "That conversation is private and the person asking is not a member of it, so I will not "
    "read it here."
)
SHARED_DESTINATION = (
    "This conversation is shared with another organisation, so I do not bring content from "
    "other channels into it."
)
ASKER_CANNOT_SEE = (
    "The person asking cannot see that conversation (guests and people from other "
    "organisations see only the channels they are in), so I will not read it here."
)
PARTICIPANT_CANNOT_SEE = (
    "Someone who wrote in this thread cannot see that conversation (a guest, someone from "
    "another organisation, or a non-member), so I will not repeat it here."
)
TOO_MANY_PEOPLE = (
    "Too many people have written in this thread for me to check that each may see that "
    "conversation, so I will not repeat it here; ask in a direct message with me."
)


def is_private(channel: dict[str, Any]) -> bool:
    """Tell whether a conversations.info object is a private channel, group DM or DM."""
    keys = ("is_private", "is_im", "is_mpim", "is_group")
    return any(bool(channel.get(key)) for key in keys)


def is_external(channel: dict[str, Any]) -> bool:
    """Tell whether a conversation is (or is being) shared with another organisation.

    `is_shared` also covers channels shared between workspaces of one Enterprise Grid
    organisation (`is_org_shared`); those stay inside the organisation.
    """
    if channel.get("is_ext_shared") or channel.get("is_pending_ext_shared"):
        return True
    return bool(channel.get("is_shared")) and not channel.get("is_org_shared")


async def refusal(
    call: SlackCall,
    source: dict[str, Any],
    destination: dict[str, Any],
    *,
    asker: str | None,
    participants: frozenset[str],
    team_id: str,
) -> str | None:
    """Return why `source`'s content may not go into `destination`, or None when it may."""
    if source.get("id") and source.get("id") == destination.get("id"):
        return None  # everyone there can already see it
    if is_private(source):
        own_dm = bool(destination.get("is_im")) and asker and destination.get("user") == asker
        if not own_dm:
            return PRIVATE_ELSEWHERE
        if not await asker_can_read(call, source, asker, team_id=team_id):
            return ASKER_NOT_MEMBER
        return None
    if is_external(destination):
        return SHARED_DESTINATION
    others = sorted(participants - {asker or ""})
    if len(others) > MAX_PARTICIPANTS:
        return TOO_MANY_PEOPLE
    asker_may, *others_may = await who_can_read(call, source, [asker, *others], team_id=team_id)
    if not asker_may:
        return ASKER_CANNOT_SEE
    if not all(others_may):
        return PARTICIPANT_CANNOT_SEE
    return None
