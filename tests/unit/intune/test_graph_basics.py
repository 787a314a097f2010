"""Graph client pieces that need no server: URL rules, Retry-After parsing, backoff bounds, settings."""

from __future__ import annotations

import email.utils
import time

import pytest

from greenlight.graph.client import RetryPolicy, retry_after_seconds
from greenlight.graph.errors import GraphConfigurationError
from greenlight.graph.settings import GraphAuthMode, GraphSettings
from greenlight.graph.urls import ApiVersion, GraphUrls, odata_quote
from greenlight.settings import SettingsError


def test_urls_use_beta_for_intune_and_refuse_plain_http() -> None:
    urls = GraphUrls("https://graph.microsoft.com")
    assert (
        urls.url("deviceAppManagement/mobileApps") == "https://graph.microsoft.com/beta/deviceAppManagement/mobileApps"
    )
    assert urls.url("/groups", ApiVersion.V1) == "https://graph.microsoft.com/v1.0/groups"
    assert urls.is_own("https://graph.microsoft.com/beta/x") and not urls.is_own("https://graph.microsoft.com.evil/x")
    with pytest.raises(GraphConfigurationError):
        GraphUrls("http://graph.microsoft.com")
    with pytest.raises(GraphConfigurationError):
        GraphUrls("http://127.0.0.1:8080")  # loopback http only when the caller allows it (local runs)
    assert GraphUrls("http://127.0.0.1:8080", allow_http_loopback=True).url("x") == "http://127.0.0.1:8080/beta/x"


def test_odata_quote_doubles_single_quotes() -> None:
    assert odata_quote("O'Brien's app") == "'O''Brien''s app'"


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7") == 7.0
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8.0 <= (retry_after_seconds(in_ten) or 0) <= 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_backoff_is_jittered_within_its_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    waits = [policy.backoff(attempt) for attempt in range(1, 10) for _ in range(20)]
    assert all(0 <= w <= 4.0 for w in waits) and len(set(waits)) > 10


def test_settings_in_azure_default_to_managed_identity_and_need_a_tenant() -> None:
    with pytest.raises(SettingsError, match="GREENLIGHT_TENANT_ID"):
        GraphSettings.from_env({"GREENLIGHT_ENV": "azure"})
    settings = GraphSettings.from_env({"GREENLIGHT_ENV": "azure", "GREENLIGHT_TENANT_ID": "t"})
    assert settings.auth_mode is GraphAuthMode.MANAGED_IDENTITY
    assert settings.graph_url == "https://graph.microsoft.com" and not settings.allow_http_loopback


def test_settings_refuse_secret_mode_without_client_id_and_http_graph_in_azure() -> None:
    base = {"GREENLIGHT_ENV": "azure", "GREENLIGHT_TENANT_ID": "t"}
    with pytest.raises(SettingsError, match="GREENLIGHT_GRAPH_CLIENT_SECRET"):
        GraphSettings.from_env(base | {"GREENLIGHT_GRAPH_AUTH": "client_secret", "GREENLIGHT_GRAPH_CLIENT_ID": "c"})
    with pytest.raises(SettingsError, match="GREENLIGHT_GRAPH_CLIENT_ID"):
        GraphSettings.from_env(base | {"GREENLIGHT_GRAPH_AUTH": "certificate", "GREENLIGHT_GRAPH_CERTIFICATE": "x"})
    with pytest.raises(SettingsError, match="GREENLIGHT_GRAPH_URL"):
        GraphSettings.from_env(base | {"GREENLIGHT_GRAPH_URL": "http://127.0.0.1:1/graph"})


def test_local_settings_point_at_the_sandbox() -> None:
    settings = GraphSettings.from_env({"GREENLIGHT_ENV": "local", "GREENLIGHT_SANDBOX_URL": "https://127.0.0.1:9"})
    assert settings.graph_url == "https://127.0.0.1:9/graph"
    assert settings.authority_host == "https://127.0.0.1:9/entra"
    assert settings.auth_mode is GraphAuthMode.CLIENT_SECRET and settings.client_secret is not None


def test_content_is_never_sent_to_a_plain_http_storage_url() -> None:
    from greenlight.intune.errors import UploadError
    from greenlight.intune.upload import GraphSas

    with pytest.raises(UploadError, match="non-https"):
        GraphSas(None, "files/1", {"azureStorageUri": "http://evil.example/blob?sig=x"})  # type: ignore[arg-type]
