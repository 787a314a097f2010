"""Typed text → command: every command, the argument checks, and Teams' mention/HTML noise."""

from __future__ import annotations

import pytest

from bot.commands import CommandKind, parse_command


@pytest.mark.parametrize(
    ("text", "kind", "argument"),
    [
        ("help", CommandKind.HELP, ""),
        ("  HELP ", CommandKind.HELP, ""),
        ("", CommandKind.HELP, ""),
        (None, CommandKind.HELP, ""),
        ("search 7zip", CommandKind.SEARCH, "7zip"),
        ("Search   visual   studio code", CommandKind.SEARCH, "visual studio code"),
        ("<at>Greenlight</at> search notepad++", CommandKind.SEARCH, "notepad++"),
        ("request 7zip.7zip", CommandKind.REQUEST, "7zip.7zip"),
        ("request Microsoft.VisualStudioCode", CommandKind.REQUEST, "Microsoft.VisualStudioCode"),
        ("status", CommandKind.STATUS, ""),
        ("status 9F6C2D1E4B3A48D9A1C0E7F5B2D4C6A8", CommandKind.STATUS, "9f6c2d1e4b3a48d9a1c0e7f5b2d4c6a8"),
        ("my requests", CommandKind.STATUS, ""),
        ("My Requests", CommandKind.STATUS, ""),
        ("pending", CommandKind.PENDING, ""),
        ("cancel 9F6C2D1E4B3A48D9A1C0E7F5B2D4C6A8", CommandKind.CANCEL, "9f6c2d1e4b3a48d9a1c0e7f5b2d4c6a8"),
        ("<p>pending</p>", CommandKind.PENDING, ""),
        ("please install photoshop", CommandKind.UNKNOWN, "please install photoshop"),
    ],
)
def test_commands_are_recognised(text, kind, argument) -> None:
    command = parse_command(text)
    assert (command.kind, command.argument, command.problem) == (kind, argument, None)


@pytest.mark.parametrize(
    ("text", "kind", "problem"),
    [
        ("search", CommandKind.SEARCH, "Tell me what to look for"),
        ("search " + "x" * 101, CommandKind.SEARCH, "under 100 characters"),
        ("request", CommandKind.REQUEST, "Tell me the package id"),
        ("status of my photoshop", CommandKind.STATUS, "a request id from the list"),
        ("request ../../etc/passwd", CommandKind.REQUEST, "does not look like a WinGet package id"),
        ("request 7zip 7zip", CommandKind.REQUEST, "does not look like a WinGet package id"),
        ("cancel", CommandKind.CANCEL, "a request id"),
        ("cancel my photoshop request", CommandKind.CANCEL, "a request id"),
    ],
)
def test_unusable_arguments_say_why(text, kind, problem) -> None:
    command = parse_command(text)
    assert command.kind is kind
    assert problem in command.problem
