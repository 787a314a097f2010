"""ApiSettings and StorageSettings from the environment: local defaults, Azure requirements, one clear message."""

from __future__ import annotations

import pytest

from greenlight.settings import SANDBOX_TENANT_ID, ApiSettings, SettingsError
from greenlight.storage import StorageSettings

AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)
AZURE_STORAGE = "DefaultEndpointsProtocol=https;AccountName=glprod;AccountKey=a2V5;EndpointSuffix=core.windows.net"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def test_local_settings_are_derived_from_the_sandbox_url():
    settings = ApiSettings.from_env(
        {
            "GREENLIGHT_ENV": "local",
            "GREENLIGHT_STORAGE_CONNECTION": AZURITE,
            "GREENLIGHT_SANDBOX_URL": "https://127.0.0.1:9443/",
        }
    )
    assert settings.auth.tenant_id == SANDBOX_TENANT_ID
    assert settings.auth.issuer == f"https://127.0.0.1:9443/entra/{SANDBOX_TENANT_ID}/v2.0"
    assert settings.auth.metadata_url.endswith(f"/entra/{SANDBOX_TENANT_ID}/v2.0/.well-known/openid-configuration")
    assert settings.storage.connection_string == AZURITE


def test_azure_settings_default_to_entra_and_accept_both_audiences():
    settings = ApiSettings.from_env(
        {
            "GREENLIGHT_ENV": "azure",
            "GREENLIGHT_TENANT_ID": TENANT.upper(),
            "GREENLIGHT_API_AUDIENCE": "api://greenlight",
            "GREENLIGHT_API_CLIENT_ID": "0b6e1f3e-0000-4000-8000-000000000001",
            "GREENLIGHT_ADMIN_GROUP_IDS": "a1b2c3d4-0000-4000-8000-000000000001, a1b2c3d4-0000-4000-8000-000000000002",
            "AzureWebJobsStorage": AZURE_STORAGE,
        }
    )
    assert settings.auth.issuer == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert settings.auth.audiences == ("api://greenlight", "0b6e1f3e-0000-4000-8000-000000000001")
    assert len(settings.auth.admin_group_ids) == 2
    assert settings.auth.allow_http_loopback is False


def test_every_missing_azure_setting_is_named_in_one_message():
    with pytest.raises(SettingsError) as raised:
        ApiSettings.from_env({"GREENLIGHT_ENV": "azure"})
    message = str(raised.value)
    for name in ("GREENLIGHT_TENANT_ID", "GREENLIGHT_API_AUDIENCE", "GREENLIGHT_STORAGE_CONNECTION"):
        assert name in message


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"GREENLIGHT_TENANT_ID": "contoso"}, "GREENLIGHT_TENANT_ID must be a GUID"),
        ({"GREENLIGHT_SANDBOX_URL": "https://127.0.0.1:7443"}, "GREENLIGHT_SANDBOX_URL is allowed only"),
        ({"GREENLIGHT_AUTH_ISSUER": "http://issuer.example.com/"}, "GREENLIGHT_AUTH_ISSUER must be an https URL"),
        ({"GREENLIGHT_MAX_BODY_BYTES": "12"}, "GREENLIGHT_MAX_BODY_BYTES must be at least 1024"),
        ({"GREENLIGHT_APPROVER_GROUP_IDS": "approvers"}, "GREENLIGHT_APPROVER_GROUP_IDS must be comma-separated"),
        ({"GREENLIGHT_CA_BUNDLE": "/nonexistent/ca.pem"}, "GREENLIGHT_CA_BUNDLE names"),
        ({"AzureWebJobsStorage": AZURITE}, "AzureWebJobsStorage: tableendpoint must be https"),
        ({"GREENLIGHT_ENV": "production"}, "GREENLIGHT_ENV must be one of"),
    ],
)
def test_invalid_values_are_named(changes, named):
    env = {
        "GREENLIGHT_ENV": "azure",
        "GREENLIGHT_TENANT_ID": TENANT,
        "GREENLIGHT_API_AUDIENCE": "api://greenlight",
        "AzureWebJobsStorage": AZURE_STORAGE,
        **changes,
    }
    with pytest.raises(SettingsError, match=named):
        ApiSettings.from_env(env)


def test_storage_connection_prefers_the_greenlight_setting_and_hides_the_key():
    settings = StorageSettings.from_env(
        {"GREENLIGHT_ENV": "local", "GREENLIGHT_STORAGE_CONNECTION": AZURITE, "AzureWebJobsStorage": "ignored=1"}
    )
    assert settings.connection_string == AZURITE
    assert "a2V5" not in repr(settings)


def test_storage_identity_based_needs_both_service_urls():
    with pytest.raises(SettingsError, match="GREENLIGHT_STORAGE_BLOB_URL"):
        StorageSettings.from_env(
            {"GREENLIGHT_ENV": "azure", "GREENLIGHT_STORAGE_TABLE_URL": "https://glprod.table.core.windows.net"}
        )
    settings = StorageSettings.from_env(
        {
            "GREENLIGHT_ENV": "azure",
            "GREENLIGHT_STORAGE_TABLE_URL": "https://glprod.table.core.windows.net",
            "GREENLIGHT_STORAGE_BLOB_URL": "https://glprod.blob.core.windows.net",
        }
    )
    assert settings.connection_string is None and settings.blob_url.startswith("https://glprod.blob")


def test_development_storage_is_local_only():
    with pytest.raises(SettingsError, match="development storage"):
        StorageSettings.from_env({"GREENLIGHT_ENV": "azure", "AzureWebJobsStorage": "UseDevelopmentStorage=true"})
