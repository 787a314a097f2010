"""Parse what a user typed into a command. Pure: no botbuilder, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_QUERY_CHARS = 100
# WinGet package identifiers: Publisher.Name segments of letters, digits and - _ . + (see winget-pkgs rules).
_PACKAGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_.+]{0,127}$")
_REQUEST_ID = re.compile(r"^[0-9a-fA-F]{32}$")
_MENTION = re.compile(r"<at>[^<]*</at>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


class CommandKind(StrEnum):
    HELP = "help"
    SEARCH = "search"
    REQUEST = "request"
    STATUS = "status"
    PENDING = "pending"
    CANCEL = "cancel"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    argument: str = ""
    problem: str | None = None  # why the argument was not usable, to tell the user


def normalize(text: str | None) -> str:
    """Drop @mentions (group chats and channels) and HTML Teams may wrap around text, collapse whitespace."""
    text = _MENTION.sub(" ", text or "")
    text = _TAGS.sub(" ", text).replace("&nbsp;", " ")
    return " ".join(text.split())


def parse_command(text: str | None) -> Command:
    cleaned = normalize(text)
    lowered = cleaned.lower()
    if not cleaned or lowered in {"help", "?", "hi", "hello", "start"}:
        return Command(CommandKind.HELP)
    if lowered in {"status", "my requests", "requests", "my request"}:
        return Command(CommandKind.STATUS)
    if lowered in {"pending", "approvals", "my approvals"}:
        return Command(CommandKind.PENDING)
    verb, _, rest = cleaned.partition(" ")
    verb = verb.lower()
    rest = rest.strip()
    if verb in {"search", "find"}:
        if not rest:
            return Command(CommandKind.SEARCH, problem="Tell me what to look for, e.g. `search 7zip`.")
        if len(rest) > MAX_QUERY_CHARS:
            return Command(CommandKind.SEARCH, problem=f"Keep the search under {MAX_QUERY_CHARS} characters.")
        return Command(CommandKind.SEARCH, rest)
    if verb == "status":
        if not _REQUEST_ID.fullmatch(rest):
            return Command(
                CommandKind.STATUS, problem="Use `status` alone, or `status` and a request id from the list."
            )
        return Command(CommandKind.STATUS, rest.lower())
    if verb == "cancel":
        if not _REQUEST_ID.fullmatch(rest):
            return Command(CommandKind.CANCEL, problem="Use `cancel` and a request id, e.g. from `status`.")
        return Command(CommandKind.CANCEL, rest.lower())
    if verb == "request":
        if not rest:
            return Command(CommandKind.REQUEST, problem="Tell me the package id, e.g. `request 7zip.7zip`.")
        if not _PACKAGE_ID.fullmatch(rest):
            return Command(CommandKind.REQUEST, problem="That does not look like a WinGet package id (e.g. 7zip.7zip).")
        return Command(CommandKind.REQUEST, rest)
    return Command(CommandKind.UNKNOWN, cleaned)


HELP_TEXT = (
    "I can get approved software onto your Windows device.\n\n"
    "- `search` and a name, e.g. `search 7zip` — find a package in the WinGet catalog\n"
    "- `request` and a package id, e.g. `request 7zip.7zip` — ask for it (you will be asked why)\n"
    "- `status` or `my requests` — see how your requests are doing; `status` and a request id for one of them\n"
    "- `cancel` and a request id — cancel your request before publishing starts\n"
    "- `pending` — requests waiting for your approval (approvers)\n"
    "- `help` — this message"
)
