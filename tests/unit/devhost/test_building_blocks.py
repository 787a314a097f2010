"""Timestamps, the status-API history view, action signatures, retry arithmetic, clocks and settings."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from devhost.durable import history as h
from devhost.durable.actions import leaves, signature
from devhost.durable.clock import VirtualClock
from devhost.durable.retry import InvalidRetryOptions, RetryPolicy
from devhost.durable.settings import DurableSettings
from devhost.host_json import HostJson, HostJsonError, read_host_json
from greenlight.settings import SettingsError

T0 = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)


def test_timestamps_use_dotnet_round_trip_format_and_parse_back():
    assert h.format_timestamp(T0) == "2024-05-01T10:00:00.1234560Z"
    assert h.parse_timestamp("2024-05-01T10:00:00.1234567Z") == T0
    assert h.parse_timestamp("2024-05-01T10:00:00Z") == T0.replace(microsecond=0)
    with pytest.raises(ValueError):
        h.format_timestamp(datetime(2024, 5, 1))


def test_status_view_hides_scheduling_and_names_what_completed():
    events = [
        h.orchestrator_started(T0),
        h.execution_started(T0, "orch", None, "i", "e", None),
        h.task_scheduled(T0, 0, "say_hello", '"Tokyo"'),
        h.orchestrator_completed(T0),
        h.orchestrator_started(T0),
        h.task_completed(T0, 0, '"Hello Tokyo!"'),
        h.execution_completed(T0, h.OrchestrationStatus.COMPLETED, '"done"'),
        h.orchestrator_completed(T0),
    ]
    view = h.status_view(events, show_output=True)
    assert [row["EventType"] for row in view] == ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]
    assert view[1]["FunctionName"] == "say_hello" and view[1]["Result"] == "Hello Tokyo!"
    assert view[2]["OrchestrationStatus"] == "Completed"
    assert "Result" not in h.status_view(events, show_output=False)[1]


def test_signature_ignores_cancellation_but_not_inputs():
    timer = {"actionType": 5, "fireAt": "2024-05-02T10:00:00.000000Z", "isCanceled": False}
    race = {"actionType": 11, "compoundActions": [{"actionType": 6, "externalEventName": "Approval"}, timer]}
    cancelled = {**race, "compoundActions": [race["compoundActions"][0], {**timer, "isCanceled": True}]}
    assert signature(race) == signature(cancelled)
    assert signature({"actionType": 0, "functionName": "a", "input": "1"}) != signature(
        {"actionType": 0, "functionName": "a", "input": "2"}
    )
    assert [leaf["actionType"] for leaf in leaves(race)] == [6, 5]


def test_retry_policy_backs_off_and_caps_like_dtfx():
    policy = RetryPolicy.from_action(
        {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": 4, "backoffCoefficient": 2,
         "maxRetryIntervalInMilliseconds": 3000}
    )  # fmt: skip
    assert [policy.delay_after(n) for n in (1, 2, 3)] == [
        timedelta(seconds=1),
        timedelta(seconds=2),
        timedelta(seconds=3),
    ]
    assert policy.should_retry(3) and not policy.should_retry(4)
    sdk = RetryPolicy.from_action({"firstRetryIntervalInMilliseconds": 5000, "maxNumberOfAttempts": 3})
    assert sdk.delay_after(2) == timedelta(seconds=5)
    with pytest.raises(InvalidRetryOptions, match="greater than 0"):
        RetryPolicy.from_action({"firstRetryIntervalInMilliseconds": 0, "maxNumberOfAttempts": 3})
    with pytest.raises(InvalidRetryOptions, match="maxNumberOfAttempts"):
        RetryPolicy.from_action({"firstRetryIntervalInMilliseconds": 10})


async def test_virtual_clock_wakes_a_sleeper_when_time_reaches_its_deadline():
    clock = VirtualClock(T0)
    wake = asyncio.Event()
    sleeper = asyncio.create_task(clock.sleep_until(T0 + timedelta(hours=2), wake))
    clock.advance(timedelta(hours=1))
    await asyncio.sleep(0.01)
    assert not sleeper.done()
    clock.advance(timedelta(hours=1))
    await asyncio.wait_for(sleeper, 1)
    with pytest.raises(ValueError, match="forward"):
        clock.set(T0)


def test_settings_name_the_variable_that_is_wrong():
    settings = DurableSettings.from_env({"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    assert (settings.task_hub, settings.max_concurrent_activities, settings.long_timers) == ("TestHubName", 16, True)
    assert settings.table_name == "TestHubNameDevhostDurable"
    with pytest.raises(SettingsError, match="DEVHOST_TASK_HUB"):
        DurableSettings.from_env({"DEVHOST_TASK_HUB": "bad-hub!"})
    with pytest.raises(SettingsError, match="DEVHOST_MAX_CONCURRENT_ACTIVITIES"):
        DurableSettings.from_env({"DEVHOST_MAX_CONCURRENT_ACTIVITIES": "0"})
    assert DurableSettings.from_env({}).storage_connection is None


def test_host_json_supplies_route_prefix_hub_and_concurrency_and_env_wins(tmp_path):
    (tmp_path / "host.json").write_text(
        '{"version": "2.0", "extensions": {"http": {"routePrefix": "/v1/"},'
        ' "durableTask": {"hubName": "GreenlightHub", "maxConcurrentActivityFunctions": 4}}}'
    )
    host = read_host_json(tmp_path)
    assert (host.route_prefix, host.hub_name, host.max_concurrent_activities) == ("v1", "GreenlightHub", 4)
    from_host = DurableSettings.from_env({}, host)
    assert (from_host.task_hub, from_host.max_concurrent_activities) == ("GreenlightHub", 4)
    overridden = DurableSettings.from_env({"DEVHOST_TASK_HUB": "Mine", "DEVHOST_MAX_CONCURRENT_ACTIVITIES": "9"}, host)
    assert (overridden.task_hub, overridden.max_concurrent_activities) == ("Mine", 9)
    assert read_host_json(tmp_path / "nowhere") == HostJson()


def test_an_invalid_host_json_value_is_named(tmp_path):
    (tmp_path / "host.json").write_text('{"extensions": {"durableTask": {"maxConcurrentActivityFunctions": 0}}}')
    with pytest.raises(HostJsonError, match="maxConcurrentActivityFunctions"):
        read_host_json(tmp_path)
    (tmp_path / "host.json").write_text("{not json")
    with pytest.raises(HostJsonError, match="not valid JSON"):
        read_host_json(tmp_path)


def test_devhost_refuses_a_non_loopback_address_without_allow_remote(capsys):
    from devhost.__main__ import main

    assert main(["--host", "0.0.0.0", "--port", "1"]) == 2  # noqa: S104 - the point of the test
    assert "--allow-remote" in capsys.readouterr().err


def test_encoded_history_is_byte_for_byte_what_json_dumps_gives_as_the_list_grows_or_is_replaced():
    encoded = h.EncodedHistory()
    events = [h.orchestrator_started(T0), h.event_raised(T0, "Approval", '{"by":"Zoë","note":"a\\"b\\u2028"}')]
    assert encoded.stored_json(events) == json.dumps(events, separators=(",", ":"))
    events.append(h.task_completed(T0, 3, None))
    assert encoded.stored_json(events) == json.dumps(events, separators=(",", ":"))
    assert encoded.stored_json(events, 2) == json.dumps(events[2:], separators=(",", ":"))
    played = [json.loads(text) for text in encoded.played(events)]
    assert played == [{**e, "IsPlayed": True} for e in events]
    assert [e["IsPlayed"] for e in events] == [False, False, False]  # the events themselves are not touched

    del events[1:]
    events.extend([h.execution_resumed(T0, "r"), h.orchestrator_completed(T0)])  # cut short and refilled
    assert encoded.stored_json(events) == json.dumps(events, separators=(",", ":"))
    assert [json.loads(t) for t in encoded.played(events)] == [{**e, "IsPlayed": True} for e in events]
    fresh = [*events[:1], h.execution_suspended(T0, None)]  # a new list (a new execution): encoded afresh
    assert encoded.stored_json(fresh) == json.dumps(fresh, separators=(",", ":"))
