"""Reading the action list the SDK returns (replay schema V2/V3: `actions == [[...top-level actions...]]`).

The extension gives a sequence id to each leaf of a new top-level action, depth-first through
WhenAll/WhenAny, exactly as the SDK numbers tasks when they are yielded (reference §1.4).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import IntEnum
from typing import Any

Action = dict[str, Any]


class ActionType(IntEnum):
    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    SCHEDULED_SIGNAL_ENTITY = 10
    WHEN_ANY = 11
    WHEN_ALL = 12


# Leaves that take a sequence id in the host's numbering; WaitForExternalEvent is keyed by its name.
NUMBERED = frozenset({0, 1, 2, 3, 5, 7, 8, 9})
COMPOUND = frozenset({ActionType.WHEN_ANY, ActionType.WHEN_ALL})


def top_level_actions(sdk_state: dict[str, Any]) -> list[Action]:
    """The flat list of top-level actions. V2/V3 wrap it in a one-element outer list."""
    outer = sdk_state.get("actions") or []
    if not outer:
        return []
    if len(outer) != 1:
        raise ValueError(f"expected replay schema V2/V3 (one action list), got {len(outer)} lists")
    return list(outer[0])


def leaves(action: Action) -> Iterator[Action]:
    """Depth-first leaves of one top-level action."""
    if action.get("actionType") in COMPOUND:
        for child in action.get("compoundActions") or []:
            yield from leaves(child)
    else:
        yield action


def is_numbered(leaf: Action) -> bool:
    return leaf.get("actionType") in NUMBERED


def signature(action: Action) -> str:
    """What must be identical when an old action is re-emitted on replay (cancellation may change)."""
    return json.dumps(_strip_cancel(action), sort_keys=True, separators=(",", ":"))


def _strip_cancel(action: Action) -> Action:
    clean = {k: v for k, v in action.items() if k != "isCanceled"}
    if "compoundActions" in clean:
        clean["compoundActions"] = [_strip_cancel(child) for child in clean["compoundActions"] or []]
    return clean


def describe(action: Action) -> str:
    """A short human description for error messages: `CallActivity 'say_hello'`."""
    kind = (
        ActionType(action.get("actionType", -1)) if action.get("actionType") in ActionType._value2member_map_ else None
    )
    name = action.get("functionName") or action.get("externalEventName") or action.get("fireAt") or ""
    if kind in COMPOUND:
        inner = ", ".join(describe(child) for child in action.get("compoundActions") or [])
        return f"{_pascal(kind)}[{inner}]"
    label = _pascal(kind) if kind is not None else f"action {action.get('actionType')}"
    return f"{label} '{name}'" if name else label


def _pascal(kind: ActionType) -> str:
    return "".join(part.capitalize() for part in kind.name.split("_"))
