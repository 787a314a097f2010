"""How far a request has got: `{stage, percent, message}` on the request row and on the requester's card.

Publishing steps call `report` as often as they like; `RequestProgress` writes the row and updates the card only
on a stage change or a move of at least `min_step` points, and never more often than every `min_interval`
seconds (100 % always goes through), so a fast upload does not flood Teams with card updates.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from greenlight.models import Request

log = logging.getLogger("greenlight.requests.progress")


@dataclass(frozen=True)
class Progress:
    stage: str  # "Approval" | "Verifying" | "Downloading" | "Packaging" | "Uploading" | "Assigning" | "Done" | …
    percent: int | None  # 0..100 for the whole request, or None
    message: str  # one line for a person

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "percent": self.percent, "message": self.message}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any] | None) -> Progress | None:
        """From a stored row or a custom status; percent clamped to 0..100, None kept."""
        if not isinstance(value, Mapping):
            return None
        percent = value.get("percent")
        try:
            percent = None if percent is None else max(0, min(100, int(percent)))
        except (TypeError, ValueError):
            percent = None
        return cls(str(value.get("stage") or ""), percent, str(value.get("message") or ""))


class ProgressSink(Protocol):
    async def report(self, progress: Progress) -> None: ...


class _Store(Protocol):
    def modify(self, tenant_id: str, request_id: str, change: Callable[[Request], Request | None]) -> Any: ...


class _Shows(Protocol):
    async def show_status(self, request: Request, progress: Progress | None) -> bool: ...


class RequestProgress:
    """The ProgressSink of one request: row first, then the requester's card (a failed card update is logged)."""

    def __init__(
        self,
        requests: _Store,
        notifier: _Shows,
        tenant_id: str,
        request_id: str,
        *,
        min_step: int = 10,
        min_interval: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._requests = requests
        self._notifier = notifier
        self._key = (tenant_id, request_id)
        self._min_step = min_step
        self._min_interval = min_interval
        self._clock = clock
        self._last: Progress | None = None
        self._last_at = 0.0

    def _due(self, progress: Progress) -> bool:
        last = self._last
        if last is None or (progress.percent == 100 and last.percent != 100):
            return True
        moved = progress.stage != last.stage or (
            progress.percent is not None and abs(progress.percent - (last.percent or 0)) >= self._min_step
        )
        return moved and self._clock() - self._last_at >= self._min_interval

    async def report(self, progress: Progress) -> None:
        if not self._due(progress):
            return
        self._last, self._last_at = progress, self._clock()

        def change(request: Request) -> Request | None:
            if request.status.is_final:
                return None  # a late report never rewrites a finished request
            return dataclasses.replace(request, progress=progress.as_dict())

        stored = await asyncio.to_thread(self._requests.modify, *self._key, change)
        try:
            await self._notifier.show_status(stored.value, progress)
        except Exception as error:  # noqa: BLE001 - progress is advisory; the publication goes on
            log.warning("progress card for %s not updated: %s", self._key[1], type(error).__name__)
