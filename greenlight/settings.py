"""Typed settings from environment variables.

Each area of the library declares its own frozen settings dataclass with a `from_env(env)` constructor that
reads through `EnvReader`, so a missing or invalid value fails at start with one message naming the variable.
Every variable is listed in the settings table of README.md.

`GREENLIGHT_ENV` is `local` (the developer stack: http to loopback allowed, sandbox endpoints, auth shortcuts)
or `azure` (production: every shortcut off). Nothing else in the code may decide it is running locally.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

E = TypeVar("E", bound=StrEnum)


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


class Environment(StrEnum):
    LOCAL = "local"
    AZURE = "azure"


class EnvReader:
    """Reads and validates environment variables; every error names the variable and what was wrong."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if env is None else env

    def raw(self, name: str) -> str | None:
        value = self._env.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def string(self, name: str, default: str | None = None) -> str:
        value = self.raw(name)
        if value is None:
            if default is None:
                raise SettingsError(f"{name} is required but not set")
            return default
        return value

    def optional(self, name: str) -> str | None:
        return self.raw(name)

    def integer(self, name: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, got {value!r}") from None
        if minimum is not None and number < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise SettingsError(f"{name} must be at most {maximum}, got {number}")
        return number

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{name} must be true or false, got {value!r}")

    def choice(self, name: str, enum: type[E], default: E | None = None) -> E:
        value = self.raw(name)
        if value is None:
            if default is None:
                raise SettingsError(f"{name} is required; one of: {', '.join(e.value for e in enum)}")
            return default
        try:
            return enum(value.lower())
        except ValueError:
            allowed = ", ".join(e.value for e in enum)
            raise SettingsError(f"{name} must be one of {allowed}; got {value!r}") from None

    def string_list(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return default
        return tuple(part.strip() for part in value.split(",") if part.strip())

    def url(self, name: str, default: str | None = None, *, allow_http_loopback: bool = False) -> str:
        """An absolute https URL (http only to loopback, and only when the caller allows it for local runs)."""
        value = self.string(name, default)
        parts = urlsplit(value)
        if not parts.hostname:
            raise SettingsError(f"{name} must be an absolute URL, got {value!r}")
        if parts.scheme == "https":
            return value.rstrip("/")
        if parts.scheme == "http" and allow_http_loopback and parts.hostname in {"127.0.0.1", "localhost", "::1"}:
            return value.rstrip("/")
        raise SettingsError(f"{name} must be an https URL, got {value!r}")

    def environment(self) -> Environment:
        return self.choice("GREENLIGHT_ENV", Environment, Environment.AZURE)


def current_environment(env: Mapping[str, str] | None = None) -> Environment:
    """`GREENLIGHT_ENV`, defaulting to azure so a forgotten setting never enables local shortcuts."""
    return EnvReader(env).environment()


def is_local(env: Mapping[str, str] | None = None) -> bool:
    return current_environment(env) is Environment.LOCAL
