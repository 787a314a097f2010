"""devhost's memo in front of the Durable SDK's timestamp parser returns exactly what dateutil returns."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import azure.durable_functions as df
import pytest
from azure.durable_functions.models.history import HistoryEvent
from dateutil.parser import parse as dateutil_parse

from devhost.durable import history as h
from devhost.durable.engine import EpisodeRunner
from devhost.durable.sdk_timestamps import SDK_MODULE, MemoizedParse, memoize_sdk_timestamps
from devhost.durable.state import InstanceState

TIMESTAMPS = [
    "2024-05-01T10:00:00.1234560Z",  # what devhost writes: .NET round-trip, 7 digits
    "2024-05-01T10:00:00.1234567Z",  # a 7th digit that is not zero (Azure's own writers)
    "2024-05-01T10:00:00Z",  # no fraction
    "2024-05-01T10:00:00.5Z",  # a short fraction
    "2024-05-01T10:00:00+00:00",
    "2024-05-01T10:00:00.123456+00:00",  # Python's isoformat()
    "2024-05-01T10:00:00.123+02:00",
    "2024-05-01T23:59:59.9999999-05:30",
]


def _same(memoized: datetime, plain: datetime) -> None:
    assert memoized == plain
    assert repr(memoized) == repr(plain)  # same fields and the same kind of tzinfo
    assert memoized.utcoffset() == plain.utcoffset()
    assert memoized.tzname() == plain.tzname()


@pytest.mark.parametrize("text", TIMESTAMPS)
def test_a_complete_timestamp_parses_to_what_dateutil_returns_first_and_every_later_time(text: str) -> None:
    memo = MemoizedParse(dateutil_parse)
    first = memo(text)
    again = memo(text)
    _same(first, dateutil_parse(text))
    _same(again, dateutil_parse(text))
    info = memo.cache_info()
    assert (info.misses, info.hits) == (1, 1)


@pytest.mark.parametrize("text", ["10:00", "2024-05-01", "2024-05-01T10:00:00", "May 1 2024 10:00 UTC"])
def test_anything_but_a_complete_timestamp_goes_to_dateutil_every_time(text: str) -> None:
    # dateutil fills missing parts from today's date: such results must not be kept
    memo = MemoizedParse(dateutil_parse)
    _same(memo(text), dateutil_parse(text))
    memo(text)
    assert memo.cache_info().currsize == 0


def test_extra_arguments_go_to_dateutil() -> None:
    memo = MemoizedParse(dateutil_parse)
    assert memo("01/05/2024", dayfirst=True) == dateutil_parse("01/05/2024", dayfirst=True)
    assert memo.cache_info().currsize == 0


def test_the_memo_holds_a_bounded_number_of_timestamps() -> None:
    memo = MemoizedParse(dateutil_parse, size=2)
    for second in range(5):
        memo(f"2024-05-01T10:00:0{second}Z")
    assert memo.cache_info().currsize == 2


def test_once_devhost_runs_episodes_the_sdk_parses_history_timestamps_through_the_memo() -> None:
    sdk_module = importlib.import_module(SDK_MODULE)

    def orchestrator(context: df.DurableOrchestrationContext):
        yield context.call_activity("step", None)

    handle = df.Orchestrator.create(orchestrator)
    EpisodeRunner({"flow": handle})
    memo = sdk_module.dt_parse
    assert isinstance(memo, MemoizedParse)
    assert memo.wrapped is dateutil_parse
    assert memoize_sdk_timestamps() is memo  # installing again changes nothing

    text = "2031-02-03T04:05:06.7000000Z"  # a timestamp no other test uses
    before = memo.cache_info()
    event = HistoryEvent(EventType=12, EventId=-1, IsPlayed=True, Timestamp=text)
    HistoryEvent(EventType=12, EventId=-1, IsPlayed=True, Timestamp=text)
    _same(event.timestamp, dateutil_parse(text))
    after = memo.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)


def test_a_replay_reuses_the_timestamps_parsed_in_earlier_episodes() -> None:
    def chain(context: df.DurableOrchestrationContext):
        value = yield context.call_activity("step", 1)
        value = yield context.call_activity("step", value)
        return value

    handle = df.Orchestrator.create(chain)
    runner = EpisodeRunner({"chain": handle})
    memo = importlib.import_module(SDK_MODULE).dt_parse
    t0 = datetime(2032, 6, 7, 8, 9, 10, tzinfo=UTC)
    state = InstanceState("i1", "chain", "e1", h.format_timestamp(t0), h.format_timestamp(t0))
    runner.run(state, [], t0)
    before = memo.cache_info()
    runner.run(state, [h.task_completed(t0.replace(second=11), 0, "2")], t0.replace(second=12))
    after = memo.cache_info()
    # the first episode's events (all stamped t0) come from the memo; only the two new times are parsed
    assert after.misses - before.misses == 2
    assert after.hits - before.hits >= 3
    assert state.open_tasks["1"]["input"] == "2"
