"""DTFx `RetryInterceptor` arithmetic for CallActivityWithRetry / CallSubOrchestratorWithRetry.

The Python SDK's RetryOptions serialises only the first interval and the attempt count; the other DTFx fields
(backoff coefficient, max interval, retry timeout) are read when present and otherwise keep DTFx's defaults
(coefficient 1, no cap), so an SDK-built policy waits `firstRetryInterval` every time.

A DTFx retry *timeout* is parsed but not honoured: the SDK's RetryAbleTask counts attempts only, and stopping
early on the host side would leave the SDK waiting for an attempt that never comes (replay out of step).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any


class InvalidRetryOptions(ValueError):
    """The retryOptions of an action cannot be used (the instance fails with this message)."""


@dataclass(frozen=True)
class RetryPolicy:
    first_interval: timedelta
    max_attempts: int
    backoff_coefficient: float = 1.0
    max_interval: timedelta | None = None
    retry_timeout: timedelta | None = None

    @classmethod
    def from_action(cls, options: dict[str, Any] | None) -> RetryPolicy:
        options = options or {}
        try:
            first = int(options["firstRetryIntervalInMilliseconds"])
            attempts = int(options["maxNumberOfAttempts"])
        except (KeyError, TypeError, ValueError):
            raise InvalidRetryOptions(
                f"retryOptions need firstRetryIntervalInMilliseconds and maxNumberOfAttempts: {options}"
            ) from None
        if first <= 0:
            raise InvalidRetryOptions("firstRetryIntervalInMilliseconds must be greater than 0")
        coefficient = float(options.get("backoffCoefficient", 1.0))
        if coefficient <= 0:
            raise InvalidRetryOptions("backoffCoefficient must be greater than 0")
        max_ms = options.get("maxRetryIntervalInMilliseconds")
        timeout_ms = options.get("retryTimeoutInMilliseconds")
        return cls(
            first_interval=timedelta(milliseconds=first),
            max_attempts=max(1, attempts),
            backoff_coefficient=coefficient,
            max_interval=timedelta(milliseconds=int(max_ms)) if max_ms else None,
            retry_timeout=timedelta(milliseconds=int(timeout_ms)) if timeout_ms else None,
        )

    def delay_after(self, failed_attempt: int) -> timedelta:
        """Delay before attempt `failed_attempt + 1` (attempts count from 1): first * coefficient^(n-1), capped."""
        delay = self.first_interval * (self.backoff_coefficient ** (failed_attempt - 1))
        if self.max_interval is not None and delay > self.max_interval:
            delay = self.max_interval
        return delay

    def should_retry(self, failed_attempt: int) -> bool:
        return failed_attempt < self.max_attempts
