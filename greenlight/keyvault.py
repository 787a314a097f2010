"""Key Vault references in settings, resolved with azure-keyvault-secrets and cached with a TTL.

A setting's value may name a secret instead of holding it:
  @Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/name[/version])   (App Service syntax)
  @Microsoft.KeyVault(VaultName=myvault;SecretName=name[;SecretVersion=version])
  kv://myvault/name[/version]          (short form; `myvault` means https://myvault.vault.azure.net)
Without a version the latest version is read, and re-read once the TTL has passed, so a rotated secret is picked
up without a restart. Secret values are never logged.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError

from greenlight.endpoints import is_loopback_host

log = logging.getLogger("greenlight.keyvault")

DEFAULT_TTL_SECONDS = 300.0
# Public and sovereign clouds' Key Vault DNS suffixes; anything else is refused outside GREENLIGHT_ENV=local.
VAULT_SUFFIXES = (".vault.azure.net", ".vault.azure.cn", ".vault.usgovcloudapi.net", ".vault.microsoftazure.de")
_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\((?P<body>.*)\)$", re.IGNORECASE | re.DOTALL)
_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
_VERSION = re.compile(r"^[0-9A-Za-z]{1,64}$")


class KeyVaultError(Exception):
    """A Key Vault reference is malformed, points outside the allowed vaults, or could not be read."""


@dataclass(frozen=True)
class SecretReference:
    vault_url: str  # https://name.vault.azure.net (no trailing slash)
    name: str
    version: str | None = None

    def __str__(self) -> str:  # safe to log: names the secret, never its value
        return f"{self.vault_url}/secrets/{self.name}" + (f"/{self.version}" if self.version else "")


def is_reference(value: str) -> bool:
    stripped = value.strip()
    return stripped.lower().startswith(("@microsoft.keyvault(", "kv://"))


def parse_reference(value: str, *, allow_loopback: bool = False) -> SecretReference:
    """Parse either reference syntax; raises KeyVaultError with what is wrong (never echoing a secret)."""
    stripped = value.strip()
    match = _REFERENCE.match(stripped)
    if match:
        fields = {}
        for part in match.group("body").split(";"):
            if part.strip():
                k, sep, v = part.partition("=")
                if not sep:
                    raise KeyVaultError("a Key Vault reference must be key=value pairs separated by ';'")
                fields[k.strip().lower()] = v.strip()
        if "secreturi" in fields:
            return _from_uri(fields["secreturi"], allow_loopback)
        if "vaultname" in fields and "secretname" in fields:
            return _checked(_vault_url(fields["vaultname"]), fields["secretname"], fields.get("secretversion"), False)
        raise KeyVaultError("a Key Vault reference needs SecretUri=… or VaultName=…;SecretName=…")
    if stripped.lower().startswith("kv://"):
        rest = stripped[5:]
        host, _, path = rest.partition("/")
        parts = [p for p in path.split("/") if p]
        if not host or not 1 <= len(parts) <= 2:
            raise KeyVaultError("a kv:// reference looks like kv://vault/name or kv://vault/name/version")
        return _checked(_vault_url(host), parts[0], parts[1] if len(parts) == 2 else None, allow_loopback)
    raise KeyVaultError("not a Key Vault reference")


def _vault_url(vault: str) -> str:
    if "." in vault or ":" in vault:  # a full host name (or host:port for a local stand-in)
        return f"https://{vault}"
    return f"https://{vault}{VAULT_SUFFIXES[0]}"


def _from_uri(uri: str, allow_loopback: bool) -> SecretReference:
    parts = urlsplit(uri)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme != "https" or not parts.netloc or len(segments) not in (2, 3) or segments[0] != "secrets":
        raise KeyVaultError("SecretUri must look like https://vault.vault.azure.net/secrets/name[/version]")
    version = segments[2] if len(segments) == 3 else None
    return _checked(f"https://{parts.netloc}", segments[1], version, allow_loopback)


def _checked(vault_url: str, name: str, version: str | None, allow_loopback: bool) -> SecretReference:
    host = (urlsplit(vault_url).hostname or "").lower()
    if not (host.endswith(VAULT_SUFFIXES) or (allow_loopback and is_loopback_host(host))):
        raise KeyVaultError(f"vault host {host!r} is not a Key Vault host ({', '.join(VAULT_SUFFIXES)})")
    if not _NAME.match(name):
        raise KeyVaultError(f"secret name {name!r} is not a valid Key Vault secret name")
    if version is not None and not _VERSION.match(version):
        raise KeyVaultError("secret version must be letters and digits")
    return SecretReference(vault_url.rstrip("/"), name, version or None)


class SecretClientLike(Protocol):
    """The one method of azure.keyvault.secrets.SecretClient this module uses."""

    def get_secret(self, name: str, version: str | None = None) -> Any: ...


SecretClientFactory = Callable[[str], SecretClientLike]


@dataclass
class _Cached:
    value: str
    fetched_at: float


class SecretResolver:
    """Reads referenced secrets, one SecretClient per vault, each value cached for `ttl_seconds`.

    When a refresh fails and a value was read before, the old value keeps serving (logged as a warning) so a
    Key Vault blip does not take the app down; with nothing cached the failure is raised.
    """

    def __init__(
        self,
        client_factory: SecretClientFactory | None = None,
        *,
        credential: TokenCredential | None = None,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client_factory = client_factory or self._default_factory
        self._credential = credential
        self._ttl = ttl_seconds
        self._clock = clock
        self._clients: dict[str, SecretClientLike] = {}
        self._cache: dict[SecretReference, _Cached] = {}
        self._lock = threading.Lock()

    def _default_factory(self, vault_url: str) -> SecretClientLike:
        from azure.keyvault.secrets import SecretClient

        if self._credential is None:
            from azure.identity import DefaultAzureCredential  # managed identity in Azure, developer login locally

            self._credential = DefaultAzureCredential()
        return SecretClient(vault_url, self._credential)

    def resolve(self, reference: SecretReference) -> str:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(reference)
            if cached is not None and now - cached.fetched_at < self._ttl:
                return cached.value
            client = self._clients.get(reference.vault_url)
            if client is None:
                client = self._clients[reference.vault_url] = self._client_factory(reference.vault_url)
        try:
            secret = client.get_secret(reference.name, reference.version)
        except AzureError as error:
            if cached is not None:
                log.warning("Key Vault refresh of %s failed (%s); serving the cached value", reference, error)
                return cached.value
            raise KeyVaultError(f"cannot read {reference}: {type(error).__name__}") from error
        if secret.value is None:
            raise KeyVaultError(f"{reference} has no value")
        with self._lock:
            self._cache[reference] = _Cached(secret.value, now)
        return secret.value


_default: SecretResolver | None = None
_default_lock = threading.Lock()


def default_resolver() -> SecretResolver:
    """The process-wide resolver (DefaultAzureCredential, 5-minute TTL)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SecretResolver()
        return _default
