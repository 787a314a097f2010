"""The bot's settings: its Entra identity, which serviceUrl hosts it trusts, and who approves (for now).

Read once per process through `EnvReader`, so a missing or invalid value fails at start with a message that
names the variable. Outside `GREENLIGHT_ENV=local` the bot refuses to run without an app id: with an empty app
id botbuilder disables inbound authentication, and anyone could post activities and approve as anyone.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from greenlight.endpoints import is_loopback_host
from greenlight.settings import Environment, EnvReader, Secret, SettingsError

# Bot Connector hosts of the public and government Teams clouds (docs: send-proactive-messages).
DEFAULT_SERVICE_URL_HOSTS = (
    "smba.trafficmanager.net",
    "smba.infra.gcc.teams.microsoft.com",
    "smba.infra.gov.teams.microsoft.us",
)
# Where Teams 1:1 chats are created when no reference for the tenant is known (what the Agents SDK uses too).
DEFAULT_SERVICE_URL = "https://smba.trafficmanager.net/teams/"


def _guids(reader: EnvReader, name: str) -> tuple[str, ...]:
    """Comma-separated Entra object ids (the same variable the API reads for its Approver role)."""
    values = []
    for value in reader.string_list(name):
        try:
            values.append(str(uuid.UUID(value)))
        except ValueError:
            raise SettingsError(f"{name} must list GUIDs (Entra group object ids), got {value!r}") from None
    return tuple(values)


class AppType(StrEnum):
    MULTI_TENANT = "multitenant"
    SINGLE_TENANT = "singletenant"
    USER_ASSIGNED_MSI = "userassignedmsi"


# botbuilder's ConfigurationServiceClientCredentialFactory compares APP_TYPE case-insensitively but these are
# the spellings Azure Bot Service and the samples use.
_APP_TYPE_NAMES = {
    AppType.MULTI_TENANT: "MultiTenant",
    AppType.SINGLE_TENANT: "SingleTenant",
    AppType.USER_ASSIGNED_MSI: "UserAssignedMSI",
}


@dataclass(frozen=True)
class BotSettings:
    environment: Environment
    app_id: str | None
    app_type: AppType
    app_tenant_id: str | None
    app_password: Secret | None = field(default=None, repr=False)
    service_url_hosts: tuple[str, ...] = DEFAULT_SERVICE_URL_HOSTS
    default_service_url: str = DEFAULT_SERVICE_URL
    allowed_tenants: tuple[str, ...] = ()
    approver_oids: frozenset[str] = frozenset()
    approver_group_ids: tuple[str, ...] = ()
    approver_group_cache_seconds: int = 300

    @property
    def is_local(self) -> bool:
        return self.environment is Environment.LOCAL

    @property
    def auth_enabled(self) -> bool:
        return bool(self.app_id)

    @property
    def app_type_name(self) -> str:
        return _APP_TYPE_NAMES[self.app_type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BotSettings:
        reader = EnvReader(env)
        environment = reader.environment()
        local = environment is Environment.LOCAL
        app_id = reader.optional("MicrosoftAppId")
        app_type = reader.choice("MicrosoftAppType", AppType, AppType.SINGLE_TENANT)
        tenant_id = reader.optional("MicrosoftAppTenantId")
        password = reader.optional_secret("MicrosoftAppPassword")
        if app_id is None and not local:
            raise SettingsError(
                "MicrosoftAppId is required outside GREENLIGHT_ENV=local: without it the bot endpoint would "
                "accept unauthenticated activities"
            )
        if app_id is not None:
            if app_type in (AppType.SINGLE_TENANT, AppType.USER_ASSIGNED_MSI) and tenant_id is None:
                raise SettingsError(f"MicrosoftAppTenantId is required when MicrosoftAppType is {app_type.value}")
            if app_type in (AppType.SINGLE_TENANT, AppType.MULTI_TENANT) and password is None:
                raise SettingsError(f"MicrosoftAppPassword is required when MicrosoftAppType is {app_type.value}")
        hosts = tuple(h.lower() for h in reader.string_list("GREENLIGHT_BOT_SERVICE_URL_HOSTS"))
        # Locally (make run) it names the Playground's connector, so nothing is ever sent to Teams from a laptop.
        default_service_url = reader.url(
            "GREENLIGHT_BOT_DEFAULT_SERVICE_URL", DEFAULT_SERVICE_URL, allow_http_loopback=local
        )
        allowed_tenants = reader.string_list("GREENLIGHT_BOT_ALLOWED_TENANTS")
        if not allowed_tenants and tenant_id and app_type is not AppType.MULTI_TENANT:
            allowed_tenants = (tenant_id,)
        return cls(
            environment=environment,
            app_id=app_id,
            app_type=app_type,
            app_tenant_id=tenant_id,
            app_password=password,
            service_url_hosts=hosts or DEFAULT_SERVICE_URL_HOSTS,
            default_service_url=default_service_url + "/",
            allowed_tenants=tuple(t.lower() for t in allowed_tenants),
            approver_oids=frozenset(o.lower() for o in reader.string_list("GREENLIGHT_APPROVER_OIDS")),
            approver_group_ids=_guids(reader, "GREENLIGHT_APPROVER_GROUP_IDS"),
            approver_group_cache_seconds=reader.integer(
                "GREENLIGHT_APPROVER_GROUP_CACHE_SECONDS", 300, minimum=10, maximum=86_400
            ),
        )

    def is_allowed_service_url(self, service_url: str | None) -> bool:
        """https to a configured Bot Connector host; http to loopback only for the local Playground."""
        if not service_url:
            return False
        try:
            parts = urlsplit(service_url)
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        if parts.scheme == "https" and host in self.service_url_hosts:
            return True
        return self.is_local and parts.scheme in ("http", "https") and is_loopback_host(host)

    def is_allowed_tenant(self, tenant_id: str | None) -> bool:
        if not tenant_id:
            return False
        return not self.allowed_tenants or tenant_id.lower() in self.allowed_tenants
