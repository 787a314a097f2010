"""Structural rules for infra/bicep that checkov does not know: module wiring, settings Flex rejects,
role assignment shape and role ids, and the names of the data tables and containers the code uses.
Plain text checks over the .bicep files (no Bicep CLI offline); comments are stripped first."""

from __future__ import annotations

import re

import pytest

from tests.unit.infra.conftest import BICEP_DIR, REPO_ROOT

# Storage the publish pipeline is adding now (it creates them at run time once its code lands). Declared ahead so
# the first deployment after the merge has them; the test below then finds them in the code as well.
PLANNED_TABLES = {"Publications"}
PLANNED_CONTAINERS = {"staging"}

# docs/reference/azure-deployment.md §2.4: app settings deprecated or invalid on Flex Consumption.
FLEX_FORBIDDEN_APP_SETTINGS = (
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_PROCESS_COUNT",
    "FUNCTIONS_MAX_HTTP_CONCURRENCY",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    "WEBSITE_VNET_ROUTE_ALL",
    "WEBSITE_DNS_SERVER",
    "WEBSITE_TIME_ZONE",
    "TZ",
)
FLEX_FORBIDDEN_SITE_PROPERTIES = (
    "alwaysOn",
    "ftpsState",
    "linuxFxVersion",
    "functionAppScaleLimit",
    "preWarmedInstanceCount",
    "use32BitWorkerProcess",
)

# §2.5: every role the deployment may assign, by definition id.
KNOWN_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "0ad04412-c4d5-4796-b79c-f76d14c8d402": "Durable Task Data Contributor",
}

GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def code(text: str) -> str:
    """The Bicep without // comments (skip justifications mention the very settings we forbid)."""
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def resource_bodies(text: str, resource_type: str) -> list[str]:
    """The text of every `resource x '<type>@...' = ... {` block, up to its closing brace at column 0."""
    pattern = re.compile(rf"^resource \w+ '{re.escape(resource_type)}@[^']+' =.*?^}}", re.MULTILINE | re.DOTALL)
    return pattern.findall(code(text))


def module_params(bicep_files: dict[str, str]) -> list[tuple[str, str]]:
    """(module path, text of its params block) for every module main.bicep declares."""
    main = code(bicep_files["main.bicep"])
    found = re.findall(r"^module \w+ '([^']+)'.*?params: \{(.*?)^  \}", main, re.MULTILINE | re.DOTALL)
    assert len(found) == len(re.findall(r"^module ", main, re.MULTILINE)) > 0
    return found


def test_every_module_main_references_exists(bicep_files: dict[str, str]) -> None:
    referenced = re.findall(r"^module \w+ '([^']+)'", bicep_files["main.bicep"], re.MULTILINE)
    assert referenced, "main.bicep declares no modules"
    missing = [path for path in referenced if not (BICEP_DIR / path).is_file()]
    assert missing == []


def test_every_module_file_is_used_by_main(bicep_files: dict[str, str]) -> None:
    referenced = set(re.findall(r"^module \w+ '([^']+)'", bicep_files["main.bicep"], re.MULTILINE))
    modules = {name for name in bicep_files if name.startswith("modules/")}
    assert modules - referenced == set()


def test_main_passes_only_declared_parameters(bicep_files: dict[str, str]) -> None:
    """A misspelt module parameter is a deployment-time error; catch it here."""
    for path, block in module_params(bicep_files):
        declared = set(re.findall(r"^param (\w+)", bicep_files[path], re.MULTILINE))
        passed = set(re.findall(r"^    (\w+):", block, re.MULTILINE))
        assert passed - declared == set(), f"{path} has no parameter(s) {passed - declared}"


def test_module_parameters_without_default_are_passed(bicep_files: dict[str, str]) -> None:
    for path, block in module_params(bicep_files):
        required = set(re.findall(r"^param (\w+) [\w]+\s*$", code(bicep_files[path]), re.MULTILINE))
        passed = set(re.findall(r"^    (\w+):", block, re.MULTILINE))
        assert required - passed == set(), f"main.bicep does not pass {required - passed} to {path}"


@pytest.mark.parametrize("setting", FLEX_FORBIDDEN_APP_SETTINGS)
def test_no_app_setting_flex_rejects(bicep_files: dict[str, str], setting: str) -> None:
    offenders = [path for path, text in bicep_files.items() if re.search(rf"'{setting}'", code(text))]
    assert offenders == []


@pytest.mark.parametrize("prop", FLEX_FORBIDDEN_SITE_PROPERTIES)
def test_no_site_property_flex_rejects(bicep_files: dict[str, str], prop: str) -> None:
    offenders = [path for path, text in bicep_files.items() if re.search(rf"\b{prop}\s*:", code(text))]
    assert offenders == []


def test_function_app_is_flex_python_311_with_2gb_and_a_warm_durable_instance(bicep_files: dict[str, str]) -> None:
    text = code(bicep_files["modules/functionapp.bicep"])
    assert "tier: 'FlexConsumption'" in text and "name: 'FC1'" in text
    assert re.search(r"runtime: \{\s*name: 'python'\s*version: '3.11'", text)
    assert "instanceMemoryMB: 2048" in text
    assert re.search(r"name: 'durable'\s*instanceCount: alwaysReadyDurable", text)
    assert re.search(r"param alwaysReadyDurable int = 1", text)
    assert re.search(r"type: 'UserAssignedIdentity'\s*userAssignedIdentityResourceId: appIdentityId", text)


def test_role_assignments_are_idempotent_and_known(bicep_files: dict[str, str]) -> None:
    bodies = [
        (path, body)
        for path, text in bicep_files.items()
        for body in resource_bodies(text, "Microsoft.Authorization/roleAssignments")
    ]
    assert len(bodies) >= 8
    for path, body in bodies:
        assert re.search(r"^  name: guid\(", body, re.MULTILINE), f"role assignment without guid() name in {path}"
        assert re.search(r"principalType: '(ServicePrincipal|Group)'", body), f"no principalType in {path}"
        variable = re.search(r"roleDefinitions', (\w+)\)", body)
        assert variable, f"roleDefinitionId not built with subscriptionResourceId in {path}"
        role_id = re.search(rf"^var {variable.group(1)} = '({GUID})'", bicep_files[path], re.MULTILINE)
        assert role_id and role_id.group(1) in KNOWN_ROLES, f"unknown role {variable.group(1)} in {path}"


def storage_names_in_code(kind: str) -> set[str]:
    """Every `<NAME>_TABLE = "X"` / `<NAME>_CONTAINER = "x"` constant in greenlight/, bot/, functions/ and
    orchestrations/: a table or container added anywhere in the code is found without editing this test."""
    pattern = re.compile(rf'^[A-Z_]*{kind} = "([\w-]+)"', re.MULTILINE)
    found: set[str] = set()
    for folder in ("greenlight", "bot", "functions", "orchestrations"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            found |= set(pattern.findall(path.read_text(encoding="utf-8")))
    return found


def test_data_storage_declares_the_tables_and_containers_the_code_uses(bicep_files: dict[str, str]) -> None:
    text = code(bicep_files["modules/storage-data.bicep"])
    table_names = re.search(r"var tableNames = \[(.*?)\]", text, re.DOTALL)
    container_names = re.search(r"var containerNames = \[(.*?)\]", text, re.DOTALL)
    assert table_names and container_names
    tables = storage_names_in_code("TABLE")
    assert {"Requests", "Audit", "RequesterCards"} <= tables  # the scan itself works
    assert set(re.findall(r"'(\w+)'", table_names.group(1))) == tables | PLANNED_TABLES
    containers = storage_names_in_code("CONTAINER")
    assert set(re.findall(r"'([\w-]+)'", container_names.group(1))) == containers | PLANNED_CONTAINERS
    assert re.search(r"prefixMatch: \[\s*'staging/'\s*\]", text), "no lifecycle rule for staging"


def test_storage_accounts_allow_no_shared_keys_or_public_blobs(bicep_files: dict[str, str]) -> None:
    for path in ("modules/storage-host.bicep", "modules/storage-data.bicep"):
        (account,) = resource_bodies(bicep_files[path], "Microsoft.Storage/storageAccounts")
        assert "allowSharedKeyAccess: false" in account
        assert "allowBlobPublicAccess: false" in account
        assert "minimumTlsVersion: 'TLS1_2'" in account


def test_bot_is_a_user_assigned_msi_bot_on_the_teams_channel(bicep_files: dict[str, str]) -> None:
    text = code(bicep_files["modules/bot.bicep"])
    assert "msaAppType: 'UserAssignedMSI'" in text
    assert "msaAppMSIResourceId: botIdentityId" in text
    assert "channelName: 'MsTeamsChannel'" in text
    assert "endpoint: 'https://${functionApp.outputs.defaultHostName}/api/messages'" in bicep_files["main.bicep"]


def test_main_outputs_what_the_grant_script_and_teams_manifest_need(bicep_files: dict[str, str]) -> None:
    outputs = set(re.findall(r"^output (\w+) ", bicep_files["main.bicep"], re.MULTILINE))
    assert {"botPrincipalId", "botClientId", "appPrincipalId", "functionAppHostName", "keyVaultUri"} <= outputs


def test_no_secure_parameters_or_secrets_in_outputs(bicep_files: dict[str, str]) -> None:
    for path, text in bicep_files.items():
        assert "@secure()" not in text, f"{path}: the design needs no secret parameters"
        assert not re.search(r"listKeys|listSecrets|connectionStrings\(", code(text)), f"{path} reads a key"


def test_every_main_parameter_is_documented_in_deploy_md(bicep_files: dict[str, str]) -> None:
    deploy = (BICEP_DIR.parents[1] / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    params = re.findall(r"^param (\w+)", bicep_files["main.bicep"], re.MULTILINE)
    assert params
    assert [p for p in params if f"`{p}`" not in deploy] == []


def test_durable_task_scheduler_is_optional_and_reached_with_the_app_identity(bicep_files: dict[str, str]) -> None:
    main = code(bicep_files["main.bicep"])
    dts = code(bicep_files["modules/dts.bicep"])
    assert re.search(r"^module dts 'modules/dts.bicep' = if \(useDurableTaskScheduler\)", main, re.MULTILINE)
    assert re.search(r"param useDurableTaskScheduler bool = false", main)
    # The connection string names the user-assigned identity (ClientID=) and uses the endpoint property.
    assert "Endpoint=${scheduler.properties.endpoint};Authentication=ManagedIdentity;ClientID=${appClientId}" in dts
    # An empty allowlist denies all traffic (deployment reference §4.3).
    assert re.search(r"param ipAllowlist array = \[\s*'[^']+'\s*\]", dts)
    assert "name: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'" in main
    assert "alwaysReadyDurable: useDurableTaskScheduler ? 0 : 1" in main
