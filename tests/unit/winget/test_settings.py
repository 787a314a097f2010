"""WingetSettings: production defaults, local derivations from the stack's variables, refused combinations."""

from __future__ import annotations

import pytest

from greenlight.settings import SettingsError
from greenlight.winget.settings import MICROSOFT_CDN, SANDBOX_ROOT_NAME, WingetSettings


def test_production_defaults_are_microsoft() -> None:
    settings = WingetSettings.from_env({"GREENLIGHT_ENV": "azure"})
    assert settings.source_url == MICROSOFT_CDN and settings.trust == "microsoft" and not settings.local
    assert settings.cdn_hosts == frozenset({"cdn.winget.microsoft.com"})
    assert settings.shared_cache  # instances share the verified source through blob storage
    assert not WingetSettings.from_env({"GREENLIGHT_ENV": "local"}).shared_cache
    assert settings.max_age_days == 30


def test_local_stack_derives_url_and_trust_from_the_sandbox(tmp_path) -> None:
    (tmp_path / "tls").mkdir()
    (tmp_path / "winget").mkdir()
    (tmp_path / "tls" / "ca.pem").write_text("ca")
    (tmp_path / "winget" / SANDBOX_ROOT_NAME).write_text("root")
    settings = WingetSettings.from_env(
        {
            "GREENLIGHT_ENV": "local",
            "GREENLIGHT_SANDBOX_URL": "https://127.0.0.1:7443",
            "GREENLIGHT_CA_BUNDLE": str(tmp_path / "tls" / "ca.pem"),
        }
    )
    assert settings.source_url == "https://127.0.0.1:7443/winget"
    assert settings.trust == str((tmp_path / "winget" / SANDBOX_ROOT_NAME).resolve())


def test_a_trust_file_is_refused_outside_local(tmp_path) -> None:
    root = tmp_path / "root.pem"
    root.write_text("x")
    with pytest.raises(SettingsError, match="GREENLIGHT_WINGET_TRUST"):
        WingetSettings.from_env({"GREENLIGHT_ENV": "azure", "GREENLIGHT_WINGET_TRUST": str(root)})


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"GREENLIGHT_WINGET_SOURCE_URL": "http://cdn.example.com"}, "GREENLIGHT_WINGET_SOURCE_URL"),
        ({"GREENLIGHT_WINGET_TRUST": "/no/such/file.pem", "GREENLIGHT_ENV": "local"}, "GREENLIGHT_WINGET_TRUST"),
        ({"GREENLIGHT_WINGET_REFRESH_MINUTES": "0"}, "GREENLIGHT_WINGET_REFRESH_MINUTES"),
        ({"GREENLIGHT_WINGET_MAX_AGE_DAYS": "-1"}, "GREENLIGHT_WINGET_MAX_AGE_DAYS"),
        ({"GREENLIGHT_WINGET_SHARED_CACHE": "maybe"}, "GREENLIGHT_WINGET_SHARED_CACHE"),
    ],
)
def test_invalid_values_name_the_variable(env: dict, variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        WingetSettings.from_env(env)
