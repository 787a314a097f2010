"""Key Vault references in settings.

Azure Key Vault has no local emulator, so these tests put the fake at the SDK's transport boundary: the real
`SecretClient` (with its challenge-based auth policy, API versions and JSON parsing) runs over a `requests` adapter
that answers as Key Vault does (401 + WWW-Authenticate challenge without a token, the secret bundle with one).
The credential is a fake `TokenCredential` too, since DefaultAzureCredential needs a real Entra ID.
"""

from __future__ import annotations

import io
import json
import time

import pytest
import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from azure.keyvault.secrets import SecretClient

from greenlight.keyvault import KeyVaultError, SecretResolver, parse_reference
from greenlight.settings import EnvReader, SettingsError

VAULT = "https://greenlight-test.vault.azure.net"


class FakeCredential:
    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: object) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("fake-access-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: object = None):  # the newer azure-core protocol
        from azure.core.credentials import AccessTokenInfo

        self.scopes.append(scopes)
        return AccessTokenInfo("fake-access-token", int(time.time()) + 3600)


class FakeKeyVault(requests.adapters.BaseAdapter):
    """Answers GET /secrets/{name}[/{version}] like Key Vault, after the bearer challenge."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[str, list[str]] = {}  # name -> versions' values, latest last
        self.reads = 0
        self.down = False

    def send(self, request, **kwargs):
        response = self._answer(request)
        # azure-core reads the body through `raw`, as from a socket.
        response.raw = urllib3.HTTPResponse(
            body=io.BytesIO(response._content), status=response.status_code, preload_content=False
        )
        response._content = False
        response._content_consumed = False
        return response

    def _answer(self, request) -> requests.Response:
        response = requests.Response()
        response.request = request
        response.url = request.url
        response.headers["Content-Type"] = "application/json"
        if self.down:
            response.status_code = 503
            response._content = b'{"error":{"code":"ServiceUnavailable","message":"down"}}'
            return response
        if request.headers.get("Authorization") != "Bearer fake-access-token":
            response.status_code = 401
            response.headers["WWW-Authenticate"] = (
                'Bearer authorization="https://login.microsoftonline.com/tenant", resource="https://vault.azure.net"'
            )
            response._content = b'{"error":{"code":"Unauthorized","message":"no token"}}'
            return response
        path = request.path_url.split("?")[0].strip("/").split("/")
        name = path[1]
        versions = self.secrets.get(name)
        if not versions:
            response.status_code = 404
            response._content = b'{"error":{"code":"SecretNotFound","message":"not found"}}'
            return response
        index = int(path[2]) if len(path) > 2 else len(versions) - 1
        self.reads += 1
        response.status_code = 200
        response._content = json.dumps(
            {"value": versions[index], "id": f"{VAULT}/secrets/{name}/{index}", "attributes": {"enabled": True}}
        ).encode()
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def vault() -> FakeKeyVault:
    return FakeKeyVault()


@pytest.fixture
def clock():
    now = [1000.0]
    return now


@pytest.fixture
def resolver(vault, clock) -> SecretResolver:
    def client(vault_url: str) -> SecretClient:
        session = requests.Session()
        session.mount("https://", vault)
        transport = RequestsTransport(session=session)
        return SecretClient(vault_url, FakeCredential(), transport=transport, retry_total=0)

    return SecretResolver(client, ttl_seconds=60, clock=lambda: clock[0])


@pytest.mark.parametrize(
    ("value", "vault_url", "name", "version"),
    [
        (f"@Microsoft.KeyVault(SecretUri={VAULT}/secrets/bot-secret/)", VAULT, "bot-secret", None),
        (f"@Microsoft.KeyVault(SecretUri={VAULT}/secrets/bot-secret/abc123)", VAULT, "bot-secret", "abc123"),
        ("@Microsoft.KeyVault(VaultName=greenlight-test;SecretName=bot-secret)", VAULT, "bot-secret", None),
        ("kv://greenlight-test/bot-secret", VAULT, "bot-secret", None),
        ("kv://greenlight-test/bot-secret/v2", VAULT, "bot-secret", "v2"),
    ],
)
def test_reference_syntaxes_parse(value, vault_url, name, version):
    reference = parse_reference(value)
    assert (reference.vault_url, reference.name, reference.version) == (vault_url, name, version)


@pytest.mark.parametrize(
    "value",
    [
        "@Microsoft.KeyVault(SecretUri=http://greenlight-test.vault.azure.net/secrets/x)",  # not https
        "@Microsoft.KeyVault(SecretUri=https://evil.example.com/secrets/x)",  # not a vault host
        "@Microsoft.KeyVault(SecretName=x)",  # no vault
        "kv://greenlight-test/",  # no name
        "kv://127.0.0.1:8443/x",  # loopback outside local
        "kv://greenlight-test/bad_name!",
    ],
)
def test_bad_references_are_refused(value):
    with pytest.raises(KeyVaultError):
        parse_reference(value)


def test_env_reader_resolves_a_reference_through_the_real_secret_client(vault, resolver):
    vault.secrets["storage-connection"] = ["AccountName=x;AccountKey=y"]
    env = {"SOME_SETTING": f"@Microsoft.KeyVault(SecretUri={VAULT}/secrets/storage-connection/)"}
    assert EnvReader(env, secrets=resolver).string("SOME_SETTING") == "AccountName=x;AccountKey=y"


def test_a_rotated_secret_is_picked_up_after_the_ttl_without_a_restart(vault, resolver, clock):
    vault.secrets["bot-password"] = ["old"]
    secret = EnvReader({"BOT_PASSWORD": "kv://greenlight-test/bot-password"}, secrets=resolver).secret("BOT_PASSWORD")
    assert secret.get() == "old"
    vault.secrets["bot-password"].append("new")
    clock[0] += 30
    assert secret.get() == "old"  # still cached
    assert vault.reads == 1
    clock[0] += 31
    assert secret.get() == "new"
    assert vault.reads == 2


def test_a_failed_refresh_keeps_serving_the_cached_value(vault, resolver, clock):
    vault.secrets["s"] = ["value-1"]
    secret = EnvReader({"S": "kv://greenlight-test/s"}, secrets=resolver).secret("S")
    assert secret.get() == "value-1"
    vault.down = True
    clock[0] += 120
    assert secret.get() == "value-1"


def test_a_missing_secret_is_a_settings_error_naming_the_variable(vault, resolver):
    env = {"GREENLIGHT_X": "kv://greenlight-test/absent"}
    with pytest.raises(SettingsError, match="GREENLIGHT_X"):
        EnvReader(env, secrets=resolver).string("GREENLIGHT_X")


def test_secret_repr_never_shows_the_value(vault, resolver):
    secret = EnvReader({"P": "literal-password"}).secret("P")
    assert "literal-password" not in repr(secret)
    assert secret.get() == "literal-password"


def test_a_malformed_reference_names_the_variable():
    with pytest.raises(SettingsError, match="GREENLIGHT_Y is not a valid Key Vault reference"):
        EnvReader({"GREENLIGHT_Y": "@Microsoft.KeyVault(nonsense)"}).string("GREENLIGHT_Y")
