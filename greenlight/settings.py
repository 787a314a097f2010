"""Typed settings from environment variables.

Each area of the library declares its own frozen settings dataclass with a `from_env(env)` constructor that
reads through `EnvReader`, so a missing or invalid value fails at start with one message naming the variable.
Every variable is listed in the settings table of README.md.

Any value may instead name a Key Vault secret (`@Microsoft.KeyVault(SecretUri=…)` or `kv://vault/name`, see
greenlight.keyvault); EnvReader resolves it. A setting that is a secret should be read with `EnvReader.secret`,
whose `Secret.get()` re-reads the vault after the cache TTL, so a rotation is picked up without a restart.

`GREENLIGHT_ENV` is `local` (the developer stack: http to loopback allowed, sandbox endpoints, auth shortcuts)
or `azure` (production: every shortcut off). Nothing else in the code may decide it is running locally.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from greenlight.endpoints import is_secure_endpoint
from greenlight.keyvault import (
    KeyVaultError,
    SecretReference,
    SecretResolver,
    default_resolver,
    is_reference,
    parse_reference,
)

if TYPE_CHECKING:
    from greenlight.storage.account import StorageSettings

E = TypeVar("E", bound=StrEnum)


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


class Environment(StrEnum):
    LOCAL = "local"
    AZURE = "azure"


class Secret:
    """A secret setting: a literal value, or a Key Vault reference read (through the TTL cache) on each `get()`."""

    def __init__(
        self,
        name: str,
        *,
        literal: str | None = None,
        reference: SecretReference | None = None,
        resolver: SecretResolver | None = None,
    ) -> None:
        self.name = name
        self._literal = literal
        self._reference = reference
        self._resolver = resolver

    @property
    def reference(self) -> SecretReference | None:
        return self._reference

    def get(self) -> str:
        if self._reference is None:
            assert self._literal is not None
            return self._literal
        try:
            return (self._resolver or default_resolver()).resolve(self._reference)
        except KeyVaultError as error:
            raise SettingsError(f"{self.name}: {error}") from None

    def __repr__(self) -> str:  # never the value
        source = f"Key Vault {self._reference}" if self._reference else "literal"
        return f"Secret({self.name}, {source})"


class EnvReader:
    """Reads and validates environment variables; every error names the variable and what was wrong.

    Values that are Key Vault references are resolved through `secrets` (default: the process-wide resolver).
    """

    def __init__(self, env: Mapping[str, str] | None = None, secrets: SecretResolver | None = None) -> None:
        self._env = os.environ if env is None else env
        self._secrets = secrets

    def _plain(self, name: str) -> str | None:
        value = self._env.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def _reference(self, name: str, value: str) -> SecretReference:
        local = (self._plain("GREENLIGHT_ENV") or "").lower() == Environment.LOCAL
        try:
            return parse_reference(value, allow_loopback=local)
        except KeyVaultError as error:
            raise SettingsError(f"{name} is not a valid Key Vault reference: {error}") from None

    def raw(self, name: str) -> str | None:
        value = self._plain(name)
        if value is None or not is_reference(value):
            return value
        return Secret(name, reference=self._reference(name, value), resolver=self._secrets).get().strip() or None

    def secret(self, name: str) -> Secret:
        """A required secret; kept as a reference (resolved at use, so rotation needs no restart) when it is one."""
        value = self._plain(name)
        if value is None:
            raise SettingsError(f"{name} is required but not set")
        if is_reference(value):
            return Secret(name, reference=self._reference(name, value), resolver=self._secrets)
        return Secret(name, literal=value)

    def optional_secret(self, name: str) -> Secret | None:
        return self.secret(name) if self._plain(name) is not None else None

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
        if is_secure_endpoint(value, allow_http_loopback=allow_http_loopback):
            return value.rstrip("/")
        raise SettingsError(f"{name} must be an https URL, got {value!r}")

    def environment(self) -> Environment:
        return self.choice("GREENLIGHT_ENV", Environment, Environment.AZURE)


def current_environment(env: Mapping[str, str] | None = None) -> Environment:
    """`GREENLIGHT_ENV`, defaulting to azure so a forgotten setting never enables local shortcuts."""
    return EnvReader(env).environment()


def is_local(env: Mapping[str, str] | None = None) -> bool:
    return current_environment(env) is Environment.LOCAL


# ---------------------------------------------------------------- the HTTP API's settings

# The sandbox's tenant and the API audience `make run` uses; only ever defaults under GREENLIGHT_ENV=local.
SANDBOX_TENANT_ID = "11111111-2222-3333-4444-555555555555"
LOCAL_API_AUDIENCE = "api://greenlight-local"
LOCAL_SANDBOX_URL = "https://127.0.0.1:7443"  # scripts/stack.py's default SANDBOX_PORT
ENTRA_AUTHORITY = "https://login.microsoftonline.com"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class AuthSettings:
    """How bearer tokens are validated and roles assigned."""

    tenant_id: str
    audiences: tuple[str, ...]  # the API's App ID URI, and its client id (v2 tokens carry either)
    issuer: str
    metadata_url: str  # OpenID metadata; its jwks_uri gives the signing keys
    requester_group_ids: tuple[str, ...]
    approver_group_ids: tuple[str, ...]
    admin_group_ids: tuple[str, ...]
    clock_skew_seconds: int
    ca_bundle: str | None  # extra trust anchor for the metadata/JWKS fetch (the sandbox CA locally)
    allow_http_loopback: bool


@dataclass(frozen=True)
class ApiSettings:
    environment: Environment
    auth: AuthSettings
    storage: StorageSettings
    max_body_bytes: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        """Every problem at once, in one SettingsError whose lines each name a variable."""
        reader = EnvReader(env)
        problems: list[str] = []

        def attempt(read: Callable[[], Any], fallback: Any) -> Any:
            try:
                return read()
            except SettingsError as error:
                problems.append(str(error))
                return fallback

        environment = attempt(reader.environment, Environment.AZURE)
        local = environment is Environment.LOCAL
        sandbox = None
        if local:
            sandbox = attempt(lambda: reader.url("GREENLIGHT_SANDBOX_URL", LOCAL_SANDBOX_URL), LOCAL_SANDBOX_URL)
        elif reader.optional("GREENLIGHT_SANDBOX_URL"):
            problems.append("GREENLIGHT_SANDBOX_URL is allowed only when GREENLIGHT_ENV=local")
        tenant = attempt(lambda: _guid(reader, "GREENLIGHT_TENANT_ID", SANDBOX_TENANT_ID if local else None), "")
        authority = f"{sandbox}/entra" if sandbox else ENTRA_AUTHORITY
        audience = attempt(lambda: reader.string("GREENLIGHT_API_AUDIENCE", LOCAL_API_AUDIENCE if local else None), "")
        client_id = attempt(lambda: reader.optional("GREENLIGHT_API_CLIENT_ID"), None)
        issuer = attempt(
            lambda: reader.url("GREENLIGHT_AUTH_ISSUER", f"{authority}/{tenant}/v2.0", allow_http_loopback=local), ""
        )
        metadata = attempt(
            lambda: reader.url(
                "GREENLIGHT_AUTH_METADATA_URL",
                f"{authority}/{tenant}/v2.0/.well-known/openid-configuration",
                allow_http_loopback=local,
            ),
            "",
        )
        groups = {
            role: attempt(lambda role=role: _guids(reader, f"GREENLIGHT_{role}_GROUP_IDS"), ())
            for role in ("REQUESTER", "APPROVER", "ADMIN")
        }
        skew = attempt(lambda: reader.integer("GREENLIGHT_AUTH_CLOCK_SKEW_SECONDS", 120, 0, 300), 120)
        ca_bundle = attempt(lambda: _existing_file(reader, "GREENLIGHT_CA_BUNDLE"), None)
        from greenlight.storage.account import StorageSettings  # storage reads its settings through this module

        storage = attempt(lambda: StorageSettings.from_env(env), None)
        max_body = attempt(lambda: reader.integer("GREENLIGHT_MAX_BODY_BYTES", 64 * 1024, 1024, 10 * 1024 * 1024), 0)
        if problems:
            raise SettingsError("; ".join(problems))
        audiences = tuple(dict.fromkeys(a for a in (audience, client_id) if a))
        auth = AuthSettings(
            tenant_id=tenant,
            audiences=audiences,
            issuer=issuer,
            metadata_url=metadata,
            requester_group_ids=groups["REQUESTER"],
            approver_group_ids=groups["APPROVER"],
            admin_group_ids=groups["ADMIN"],
            clock_skew_seconds=skew,
            ca_bundle=ca_bundle,
            allow_http_loopback=local,
        )
        return cls(environment=environment, auth=auth, storage=storage, max_body_bytes=max_body)


def _guid(reader: EnvReader, name: str, default: str | None) -> str:
    value = reader.string(name, default)
    if not _GUID.match(value):
        raise SettingsError(f"{name} must be a GUID (the Entra tenant id), got {value!r}")
    return value.lower()


def _guids(reader: EnvReader, name: str) -> tuple[str, ...]:
    values = reader.string_list(name)
    bad = [v for v in values if not _GUID.match(v)]
    if bad:
        raise SettingsError(f"{name} must be comma-separated group object ids (GUIDs); not GUIDs: {', '.join(bad)}")
    return tuple(v.lower() for v in values)


def _existing_file(reader: EnvReader, name: str) -> str | None:
    value = reader.optional(name)
    if value is not None and not Path(value).is_file():
        raise SettingsError(f"{name} names {value!r}, which is not a readable file")
    return value
