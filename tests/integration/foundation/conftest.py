"""Foundation integration fixtures: a StorageAccount on the session's Azurite."""

from __future__ import annotations

import uuid

import pytest

from greenlight.storage import StorageAccount


@pytest.fixture(scope="session")
def account(azurite) -> StorageAccount:
    return StorageAccount.from_connection_string(azurite.connection_string)


@pytest.fixture
def tenant() -> str:
    """A tenant id of its own per test, so tests sharing Azurite never see each other's rows."""
    return str(uuid.uuid4())


# ---------------------------------------------------------------- API helpers

API_AUDIENCE = "api://greenlight-test"
ADMIN_GROUP = "a0000000-0000-4000-8000-00000000ad01"


def api_environment(azurite, sandbox) -> dict[str, str]:
    """What scripts/stack.py's local_app_environment sets, plus this suite's audience and an admin group."""
    return {
        "GREENLIGHT_ENV": "local",
        "AzureWebJobsStorage": azurite.connection_string,
        "GREENLIGHT_STORAGE_CONNECTION": azurite.connection_string,
        "GREENLIGHT_SANDBOX_URL": sandbox.base_url,
        "GREENLIGHT_CA_BUNDLE": str(sandbox.ca_file),
        "GREENLIGHT_API_AUDIENCE": API_AUDIENCE,
        "GREENLIGHT_ADMIN_GROUP_IDS": ADMIN_GROUP,
    }


@pytest.fixture(scope="session")
def api_runtime(azurite, sandbox):
    """The API's process-wide runtime built from the local settings (function objects are called directly)."""
    import function_app  # noqa: F401 - registers every route on the blueprint
    import services
    from functions import runtime
    from functions.tokens import TokenValidator
    from greenlight.settings import ApiSettings

    settings = ApiSettings.from_env(api_environment(azurite, sandbox))
    built = runtime.Runtime(
        settings,
        TokenValidator.from_settings(settings.auth),
        StorageAccount.from_settings(settings.storage),
    )
    runtime.reset(built)
    services.set_services(services.build(api_environment(azurite, sandbox)))  # what the request routes call
    yield built
    services.set_services(None)
    runtime.reset()


@pytest.fixture(scope="session")
def mint(sandbox):
    """mint(oid, roles=..., **overrides) -> a user token for this suite's API audience."""
    from greenlight.settings import SANDBOX_TENANT_ID
    from sandbox.identity import mint_user_token

    def make(oid: str = "oid-alice", roles=("Requester",), **overrides) -> str:
        options = {
            "tenant_id": SANDBOX_TENANT_ID,
            "oid": oid,
            "name": oid.removeprefix("oid-").title(),
            "upn": f"{oid}@contoso.test",
            "roles": roles,
            "audience": API_AUDIENCE,
        }
        options.update(overrides)
        return mint_user_token(sandbox.state_dir, **options)

    return make
