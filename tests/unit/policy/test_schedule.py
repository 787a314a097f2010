"""The wake-up schedule of a waiting stage: reminders, escalation, expiry, and no timer longer than six days."""

from __future__ import annotations

import datetime as dt

from greenlight.policy import MAX_TIMER, Timing, Wakeup, next_wakeup

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


def follow(timing: Timing, stage_start: dt.datetime = START, until: dt.timedelta = dt.timedelta(days=40)):
    """Run the orchestrator's loop with no decision ever arriving: every (at, actions) until expiry or `until`."""
    cursor, seen = stage_start, []
    while cursor < START + until:
        wake = next_wakeup(timing, START, stage_start, cursor, cursor)  # the timer fires exactly on time
        if wake is None:
            break
        assert wake.at - cursor <= MAX_TIMER
        seen.append((wake.at, wake.actions))
        if "expire" in wake.actions:
            break
        cursor = wake.at
    return seen


def test_no_time_settings_means_no_timer() -> None:
    assert next_wakeup(Timing(), START, START, START, START) is None


def test_reminders_fall_every_reminder_hours_after_the_stage_started() -> None:
    seen = follow(Timing(reminder_hours=24), until=dt.timedelta(days=3))
    assert [(at - START, actions) for at, actions in seen[:3]] == [
        (24 * H, ("remind",)),
        (48 * H, ("remind",)),
        (72 * H, ("remind",)),
    ]


def test_escalation_happens_once_and_reminders_go_on() -> None:
    seen = follow(Timing(reminder_hours=24, escalate_after_hours=48), until=dt.timedelta(days=4))
    actions = [(at - START, a) for at, a in seen]
    assert actions[:3] == [(24 * H, ("remind",)), (48 * H, ("escalate", "remind")), (72 * H, ("remind",))]
    assert sum("escalate" in a for _, a in actions) == 1


def test_expiry_counts_from_the_request_and_ends_everything() -> None:
    second_stage = START + 5 * 24 * H
    seen = follow(Timing(reminder_hours=24, expire_after_days=7), stage_start=second_stage)
    assert seen[-1] == (START + 7 * 24 * H, ("expire",))
    assert [at - second_stage for at, _ in seen[:-1]] == [24 * H]  # one reminder on day 6, then expiry on day 7


def test_a_far_event_is_reached_through_intermediate_wakeups_of_at_most_six_days() -> None:
    seen = follow(Timing(expire_after_days=30))
    assert [actions for _, actions in seen] == [(), (), (), (), ("expire",)]
    assert seen[0][0] == START + MAX_TIMER
    assert seen[-1][0] == START + 30 * 24 * H


def test_a_late_wakeup_does_not_skip_an_event_and_expiry_already_due_fires_now() -> None:
    timing = Timing(reminder_hours=24, expire_after_days=2)
    late = START + 30 * H  # the host was down past the first reminder
    assert next_wakeup(timing, START, START, START, late) == Wakeup(START + 24 * H, ("remind",))
    after_expiry = START + 3 * 24 * H
    assert next_wakeup(timing, START, START, START + 48 * H, after_expiry) == Wakeup(after_expiry, ("expire",))


def test_a_wakeup_survives_its_json_form() -> None:
    wake = Wakeup(START, ("escalate", "remind"))
    assert Wakeup.from_json(wake.to_json()) == wake
