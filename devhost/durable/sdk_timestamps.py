"""A memo in front of the Durable SDK's history timestamp parser (a devhost-only speed-up; the SDK is unchanged).

The SDK builds a `HistoryEvent` for every event of the history on every replay and parses its `Timestamp` with
`dateutil.parser.parse` (the module-level name `dt_parse` in `azure.durable_functions.models.history.HistoryEvent`).
A five-activity chain replays six times, so the same strings are parsed again and again, and that parse was a
quarter to a third of devhost's CPU. The SDK offers no hook for it (it builds the events itself from the context
JSON), so devhost replaces that module attribute with a bounded memo around the very same function.

What the SDK sees is unchanged: a complete timestamp (date, time, optional fraction, `Z` or an offset) is parsed
by dateutil the first time and the result is reused (a `datetime` is immutable); anything else - a string without
a zone or date, extra arguments - goes to dateutil every time, because dateutil fills missing parts from the
current date. The tzinfo objects dateutil returned are reused as they are (where dateutil answers `tzlocal()`, the
zone is the process's, which devhost never changes). Production code never imports this module; the Functions
host's worker keeps the plain SDK.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

SDK_MODULE = "azure.durable_functions.models.history.HistoryEvent"
# Distinct timestamps of the instances in flight: about two per episode (the episode's start and the completion it
# delivers). 500 concurrent five-activity chains hold 5,500; a memo smaller than that evicts what the next replay
# needs. 32K entries cost a few MiB at most.
MEMO_SIZE = 32_768

# What the extension and devhost write: ISO 8601 with seconds, an optional fraction (.NET writes 7 digits) and a zone.
_COMPLETE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


class MemoizedParse:
    """`parse(text)` as the wrapped parser returns it; complete timestamps are parsed once."""

    def __init__(self, parse: Callable[..., datetime], size: int = MEMO_SIZE) -> None:
        self.wrapped = parse
        self._once = functools.lru_cache(maxsize=size)(parse)

    def __call__(self, timestr: Any, *args: Any, **kwargs: Any) -> datetime:
        if args or kwargs or type(timestr) is not str or _COMPLETE.fullmatch(timestr) is None:
            return self.wrapped(timestr, *args, **kwargs)
        return self._once(timestr)

    def cache_info(self) -> Any:
        return self._once.cache_info()


def memoize_sdk_timestamps() -> MemoizedParse:
    """Put the memo in front of the SDK's `dt_parse` (idempotent); returns the parser the SDK now uses."""
    module = importlib.import_module(SDK_MODULE)
    current = module.dt_parse
    if isinstance(current, MemoizedParse):
        return current
    memo = MemoizedParse(current)
    module.dt_parse = memo
    return memo
