"""Graph client settings (environment variables; the secret may be a Key Vault reference)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from greenlight.settings import (
    ENTRA_AUTHORITY,
    LOCAL_SANDBOX_URL,
    SANDBOX_TENANT_ID,
    EnvReader,
    Secret,
    SettingsError,
)

GRAPH_URL = "https://graph.microsoft.com"
LOCAL_CLIENT_ID = "greenlight-local"
LOCAL_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 - the sandbox default, used only when GREENLIGHT_ENV=local


class GraphAuthMode(StrEnum):
    MANAGED_IDENTITY = "managed_identity"
    CLIENT_SECRET = "client_secret"  # noqa: S105 - a mode name
    CERTIFICATE = "certificate"


@dataclass(frozen=True)
class GraphSettings:
    tenant_id: str
    graph_url: str  # https://graph.microsoft.com (or the sandbox's /graph locally)
    authority_host: str  # https://login.microsoftonline.com (or the sandbox's /entra locally)
    auth_mode: GraphAuthMode
    client_id: str | None  # app registration (secret/certificate) or user-assigned managed identity client id
    client_secret: Secret | None
    certificate_pem: Secret | None  # PEM with private key and certificate (how Key Vault returns a certificate)
    ca_bundle: str | None
    allow_http_loopback: bool
    max_attempts: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GraphSettings:
        reader = EnvReader(env)
        local = reader.environment().value == "local"
        sandbox = reader.url("GREENLIGHT_SANDBOX_URL", LOCAL_SANDBOX_URL) if local else None
        tenant = reader.string("GREENLIGHT_TENANT_ID", SANDBOX_TENANT_ID if local else None)
        graph_url = reader.url(
            "GREENLIGHT_GRAPH_URL", f"{sandbox}/graph" if sandbox else GRAPH_URL, allow_http_loopback=local
        )
        authority = reader.url(
            "GREENLIGHT_AUTHORITY_HOST", f"{sandbox}/entra" if sandbox else ENTRA_AUTHORITY, allow_http_loopback=local
        )
        mode = reader.choice(
            "GREENLIGHT_GRAPH_AUTH",
            GraphAuthMode,
            GraphAuthMode.CLIENT_SECRET if local else GraphAuthMode.MANAGED_IDENTITY,
        )
        client_id = reader.optional("GREENLIGHT_GRAPH_CLIENT_ID") or (LOCAL_CLIENT_ID if local else None)
        secret = certificate = None
        if mode is GraphAuthMode.CLIENT_SECRET:
            if local and reader.optional("GREENLIGHT_GRAPH_CLIENT_SECRET") is None:
                secret = Secret("GREENLIGHT_GRAPH_CLIENT_SECRET", literal=LOCAL_CLIENT_SECRET)
            else:
                secret = reader.secret("GREENLIGHT_GRAPH_CLIENT_SECRET")
        elif mode is GraphAuthMode.CERTIFICATE:
            certificate = reader.secret("GREENLIGHT_GRAPH_CERTIFICATE")
        if mode is not GraphAuthMode.MANAGED_IDENTITY and not client_id:
            raise SettingsError(f"GREENLIGHT_GRAPH_CLIENT_ID is required when GREENLIGHT_GRAPH_AUTH={mode.value}")
        return cls(
            tenant_id=tenant,
            graph_url=graph_url,
            authority_host=authority,
            auth_mode=mode,
            client_id=client_id,
            client_secret=secret,
            certificate_pem=certificate,
            ca_bundle=reader.optional("GREENLIGHT_CA_BUNDLE"),
            allow_http_loopback=local,
            max_attempts=reader.integer("GREENLIGHT_GRAPH_MAX_ATTEMPTS", 8, 1, 20),
        )
