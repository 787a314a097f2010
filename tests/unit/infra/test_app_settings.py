"""The function app's settings in infra/bicep/modules/functionapp.bicep, read by the code's own settings loaders.

The Bicep app settings are extracted, Bicep expressions replaced by sample deployment values, and the result fed
to every area's `from_env`: a setting the code requires but the Bicep omits, a misspelt name, or a value the
loader rejects fails here instead of at the first cold start in Azure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import pytest

from greenlight.graph.settings import GraphAuthMode, GraphSettings
from greenlight.settings import ApiSettings, Environment
from greenlight.storage.account import StorageSettings
from greenlight.winget.settings import MICROSOFT_CDN, WingetSettings
from tests.unit.infra.conftest import BICEP_DIR

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP_CLIENT_ID = "0b4f3c1e-0000-4000-8000-00000000a991"
BOT_CLIENT_ID = "0b4f3c1e-0000-4000-8000-00000000b075"

# What ARM would substitute for each parameter / expression the settings use, in a plausible deployment.
SAMPLE_VALUES = {
    "hostStorageAccountName": "stgreenlightprodhabc123",
    "appClientId": APP_CLIENT_ID,
    "botClientId": BOT_CLIENT_ID,
    "appInsightsConnectionString": "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
    "IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/",
    "dataTableEndpoint": "https://stgreenlightproddabc123.table.core.windows.net/",
    "dataBlobEndpoint": "https://stgreenlightproddabc123.blob.core.windows.net/",
    "tenant().tenantId": TENANT,
    "apiAudience": "api://greenlight",
    "apiClientId": "",
    "requesterGroupIds": "",
    "approverGroupIds": "5f1c6a2e-1111-4222-8333-444455556666",
    "adminGroupIds": "",
}

# The deployer's choices (main.bicep parameters, at their defaults but for one allowlist).
SAMPLE_VALUES |= {
    "approverOids": "",
    "string(approverGroupCacheSeconds)": "300",
    "botAllowedTenants": "",
    "wingetInstallerHosts": "github.com,download.microsoft.com",
    "string(wingetRefreshMinutes)": "15",
    "string(wingetMaxAgeDays)": "30",
    "string(graphMaxAttempts)": "8",
    "string(maxBodyBytes)": "65536",
}

# Settings the Functions host or Azure SDKs read, not Greenlight's code.
PLATFORM_SETTINGS = {
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "AZURE_CLIENT_ID",
}


def evaluate(expression: str) -> str:
    """A Bicep value: a '...' literal with ${...} interpolation, or a bare parameter / known expression."""
    expression = expression.strip()
    if expression.startswith("'") and expression.endswith("'"):
        return re.sub(r"\$\{([^}]+)\}", lambda m: SAMPLE_VALUES[m.group(1)], expression[1:-1])
    if expression not in SAMPLE_VALUES:
        raise AssertionError(f"no sample value for the Bicep expression {expression!r}; add one to SAMPLE_VALUES")
    return SAMPLE_VALUES[expression]


def bicep_app_settings() -> dict[str, str]:
    text = (BICEP_DIR / "modules" / "functionapp.bicep").read_text(encoding="utf-8")
    blocks = re.findall(r"^var (baseAppSettings|deployerAppSettings) = \[(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    assert [name for name, _ in blocks] == ["baseAppSettings", "deployerAppSettings"]
    pairs = [pair for _, block in blocks for pair in re.findall(r"name: '([^']+)'\s*\n\s*value: (.+)", block)]
    assert pairs
    settings = {name: evaluate(value) for name, value in pairs}
    assert len(settings) == len(pairs), "an app setting is listed twice"
    return settings


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return bicep_app_settings()


def test_runs_in_azure_mode(env: dict[str, str]) -> None:
    assert env["GREENLIGHT_ENV"] == Environment.AZURE


def test_api_settings_load(env: dict[str, str]) -> None:
    settings = ApiSettings.from_env(env)
    assert settings.auth.tenant_id == TENANT
    assert settings.auth.audiences == ("api://greenlight",)
    assert settings.auth.issuer == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert settings.auth.approver_group_ids == ("5f1c6a2e-1111-4222-8333-444455556666",)


def test_storage_uses_the_data_account_with_the_managed_identity(env: dict[str, str]) -> None:
    settings = StorageSettings.from_env(env)
    assert settings.connection_string is None  # identity-based, never a key
    assert settings.table_url == "https://stgreenlightproddabc123.table.core.windows.net"
    assert settings.blob_url == "https://stgreenlightproddabc123.blob.core.windows.net"


def test_graph_uses_the_bot_identity_that_holds_the_app_roles(env: dict[str, str]) -> None:
    settings = GraphSettings.from_env(env)
    assert settings.auth_mode is GraphAuthMode.MANAGED_IDENTITY
    assert settings.client_id == BOT_CLIENT_ID
    assert settings.tenant_id == TENANT
    assert settings.graph_url == "https://graph.microsoft.com"


def test_bot_authenticates_as_the_user_assigned_identity(env: dict[str, str]) -> None:
    from bot.settings import AppType, BotSettings

    settings = BotSettings.from_env(env)
    assert settings.app_type is AppType.USER_ASSIGNED_MSI
    assert settings.app_id == BOT_CLIENT_ID
    assert settings.app_tenant_id == TENANT
    assert settings.auth_enabled
    assert settings.allowed_tenants == (TENANT,)
    assert settings.approver_group_ids == ("5f1c6a2e-1111-4222-8333-444455556666",)  # same groups as the API


def test_winget_trusts_microsoft_and_its_cdn(env: dict[str, str]) -> None:
    settings = WingetSettings.from_env(env)
    assert settings.trust == "microsoft"
    assert settings.source_url == MICROSOFT_CDN
    assert settings.installer_hosts == frozenset({"github.com", "download.microsoft.com"})  # the deployer's list


def test_every_deployer_setting_is_a_main_parameter() -> None:
    """A setting a deployer chooses must survive redeploys, so it comes from a main.bicep parameter."""
    text = (BICEP_DIR / "modules" / "functionapp.bicep").read_text(encoding="utf-8")
    block = re.search(r"^var deployerAppSettings = \[(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    assert block
    params = {re.sub(r"string\((\w+)\)", r"\1", v.strip()) for v in re.findall(r"value: (.+)", block.group(1))}
    main = (BICEP_DIR / "main.bicep").read_text(encoding="utf-8")
    for param in params:
        assert re.search(rf"^param {param} ", main, re.MULTILINE), f"{param} is not a main.bicep parameter"
        assert re.search(rf"^    {param}: {param}$", main, re.MULTILINE), f"main.bicep does not pass {param}"
    assert "additionalAppSettingsList)" in text  # the escape hatch for any other setting


class RecordingEnv(Mapping[str, str]):
    """The settings, remembering every name a loader looked up."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return self._values[name]

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        self.read.add(name)
        return self._values.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def test_every_greenlight_setting_in_the_bicep_is_read_by_the_code(env: dict[str, str]) -> None:
    """Catches a setting renamed in the code but not in the Bicep (it would be silently ignored in Azure)."""
    from bot.settings import BotSettings

    recording = RecordingEnv(env)
    for loader in (ApiSettings, StorageSettings, GraphSettings, WingetSettings, BotSettings):
        loader.from_env(recording)
    unread = sorted(set(env) - PLATFORM_SETTINGS - recording.read)
    assert unread == []


def test_no_local_only_setting_is_deployed(env: dict[str, str]) -> None:
    """Sandbox endpoints, extra trust anchors and key-based storage have no place in a deployment."""
    local_only = {"GREENLIGHT_SANDBOX_URL", "GREENLIGHT_CA_BUNDLE", "GREENLIGHT_STORAGE_CONNECTION"}
    assert local_only & set(env) == set()
    assert "AzureWebJobsStorage" not in env  # the key-based connection string; the host uses __accountName
