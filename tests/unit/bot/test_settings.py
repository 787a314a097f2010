"""BotSettings: local needs nothing, production needs an identity, and the serviceUrl allowlist is strict."""

from __future__ import annotations

import pytest

from bot.settings import AppType, BotSettings
from greenlight.settings import SettingsError

APP = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def test_local_runs_without_an_app_id_and_with_auth_off() -> None:
    settings = BotSettings.from_env({"GREENLIGHT_ENV": "local"})
    assert settings.is_local and not settings.auth_enabled


@pytest.mark.parametrize("env", [{}, {"GREENLIGHT_ENV": "azure"}])
def test_outside_local_an_app_id_is_required(env) -> None:
    with pytest.raises(SettingsError, match="MicrosoftAppId is required outside GREENLIGHT_ENV=local"):
        BotSettings.from_env(env)


def test_single_tenant_needs_tenant_and_password_and_restricts_tenants() -> None:
    settings = BotSettings.from_env(
        {"MicrosoftAppId": APP, "MicrosoftAppTenantId": TENANT, "MicrosoftAppPassword": "s3cret"}
    )
    assert settings.app_type is AppType.SINGLE_TENANT and settings.app_type_name == "SingleTenant"
    assert settings.app_password.get() == "s3cret" and "s3cret" not in repr(settings)
    assert settings.is_allowed_tenant(TENANT) and not settings.is_allowed_tenant("another-tenant")


def test_unknown_app_type_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="MicrosoftAppType must be one of"):
        BotSettings.from_env({"GREENLIGHT_ENV": "local", "MicrosoftAppType": "Anonymous"})


@pytest.mark.parametrize(
    ("url", "local", "allowed"),
    [
        ("https://smba.trafficmanager.net/amer/", False, True),
        ("https://smba.infra.gcc.teams.microsoft.com/gcc", False, True),
        ("http://smba.trafficmanager.net/amer/", False, False),  # https only
        ("https://smba.trafficmanager.net.evil.example/", False, False),
        ("https://evil.example/smba.trafficmanager.net", False, False),
        ("http://localhost:56150/_connector", False, False),  # the Playground: local only
        ("http://localhost:56150/_connector", True, True),
        ("http://127.0.0.1:56150/_connector", True, True),
        ("http://10.0.0.5/_connector", True, False),
        ("", True, False),
        ("not a url", True, False),
    ],
)
def test_service_url_allowlist(url: str, local: bool, allowed: bool) -> None:
    env = {"GREENLIGHT_ENV": "local"} if local else {"GREENLIGHT_ENV": "azure", "MicrosoftAppId": APP}
    env |= {"MicrosoftAppType": "MultiTenant", "MicrosoftAppPassword": "x"}
    assert BotSettings.from_env(env).is_allowed_service_url(url) is allowed


def test_configured_hosts_replace_the_defaults() -> None:
    settings = BotSettings.from_env(
        {"GREENLIGHT_ENV": "local", "GREENLIGHT_BOT_SERVICE_URL_HOSTS": "Connector.Example"}
    )
    assert settings.is_allowed_service_url("https://connector.example/x")
    assert not settings.is_allowed_service_url("https://smba.trafficmanager.net/amer/")


def test_the_default_service_url_may_be_the_playground_only_locally() -> None:
    playground = {"GREENLIGHT_BOT_DEFAULT_SERVICE_URL": "http://127.0.0.1:56150/_connector"}
    settings = BotSettings.from_env({"GREENLIGHT_ENV": "local"} | playground)
    assert settings.default_service_url == "http://127.0.0.1:56150/_connector/"
    with pytest.raises(SettingsError, match="GREENLIGHT_BOT_DEFAULT_SERVICE_URL must be an https URL"):
        BotSettings.from_env(
            {
                "GREENLIGHT_ENV": "azure",
                "MicrosoftAppId": APP,
                "MicrosoftAppTenantId": TENANT,
                "MicrosoftAppPassword": "x",
            }
            | playground
        )


def test_approver_oids_are_normalised() -> None:
    settings = BotSettings.from_env({"GREENLIGHT_ENV": "local", "GREENLIGHT_APPROVER_OIDS": " AbC , def ,,"})
    assert settings.approver_oids == frozenset({"abc", "def"})


def test_approver_groups_must_be_guids() -> None:
    with pytest.raises(SettingsError, match="GREENLIGHT_APPROVER_GROUP_IDS must list GUIDs"):
        BotSettings.from_env({"GREENLIGHT_ENV": "local", "GREENLIGHT_APPROVER_GROUP_IDS": "IT approvers"})
    group = "0D6F3F2E-8C1B-4D4A-9A7E-3B5C7D9E1F20"
    settings = BotSettings.from_env({"GREENLIGHT_ENV": "local", "GREENLIGHT_APPROVER_GROUP_IDS": f"{group}, "})
    assert settings.approver_group_ids == (group.lower(),) and settings.approver_group_cache_seconds == 300
