"""When a waiting stage needs attention: reminders, escalation and expiry as a deterministic schedule.

The orchestrator keeps one cursor (the moment up to which it has acted, starting at the stage's start) and asks
`next_wakeup` what comes after it. Every answer is at most `MAX_TIMER` after `now`, because a durable timer may
not wait longer (ARCHITECTURE §3); a wake-up with no actions just means "wait again from here".

    cursor = stage_started_at
    while stage is pending:
        wake = next_wakeup(plan.timing, request_started_at, stage_started_at, cursor, context.current_utc_datetime)
        (a decision arrives first -> re-evaluate the stage) or (the timer fires -> do wake.actions; cursor = wake.at)

Reminders fall every `reminder_hours` after the stage started; escalation once, `escalate_after_hours` after the
stage started; expiry `expire_after_days` after the request started (it ends the request, so it stands alone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from greenlight.policy.plan import Timing

MAX_TIMER = dt.timedelta(days=6)
Action = Literal["remind", "escalate", "expire"]


@dataclass(frozen=True)
class Wakeup:
    at: dt.datetime
    actions: tuple[Action, ...]  # empty: an intermediate wake-up (the next event is more than MAX_TIMER away)

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "actions": list(self.actions)}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Wakeup:
        return cls(dt.datetime.fromisoformat(value["at"]), tuple(value["actions"]))


def next_wakeup(
    timing: Timing,
    request_started_at: dt.datetime,
    stage_started_at: dt.datetime,
    after: dt.datetime,
    now: dt.datetime,
) -> Wakeup | None:
    """The first event strictly after `after`, or an intermediate wake-up ≤ MAX_TIMER from `now`; None: no events."""
    events: dict[dt.datetime, set[Action]] = {}
    if timing.reminder_hours:
        step = dt.timedelta(hours=timing.reminder_hours)
        # The first reminder strictly after `after`: whole steps from the stage start.
        passed = max(0, int((after - stage_started_at) / step))
        reminder = stage_started_at + step * (passed + 1)
        while reminder <= after:
            reminder += step
        events.setdefault(reminder, set()).add("remind")
    if timing.escalate_after_hours:
        escalation = stage_started_at + dt.timedelta(hours=timing.escalate_after_hours)
        if escalation > after:
            events.setdefault(escalation, set()).add("escalate")
    if timing.expire_after_days:
        expiry = request_started_at + dt.timedelta(days=timing.expire_after_days)
        if expiry > after:
            events.setdefault(expiry, set()).add("expire")
        else:
            return Wakeup(max(after, now), ("expire",))  # already past: expire at once
    if not events:
        return None
    at = min(events)
    if at - now > MAX_TIMER:
        return Wakeup(now + MAX_TIMER, ())
    actions = events[at]
    if "expire" in actions:
        return Wakeup(at, ("expire",))
    ordered: tuple[Action, ...] = tuple(a for a in ("escalate", "remind") if a in actions)
    return Wakeup(at, ordered)
