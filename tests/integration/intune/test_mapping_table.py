"""Every real WinGet manifest maps to a win32LobApp body the Graph sandbox accepts (strict body validation), with
the commands and detection a packager would choose by hand — one table row per installer type."""

from __future__ import annotations

import base64
import io
import zipfile
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from greenlight.graph.client import GraphClient
from greenlight.graph.errors import GraphBadRequest
from greenlight.graph.urls import ApiVersion
from greenlight.intune.builder import write_blob
from greenlight.intune.crypto import ContentKeys
from greenlight.intune.errors import MappingError
from greenlight.intune.mapping import map_installer
from greenlight.intune.pipeline import content_for, publish_plan
from greenlight.intune.reader import verify_blob
from greenlight.intune.upload import PublishOptions, Win32AppPublisher
from greenlight.winget.manifest import Installer, Manifest, load_directory

MANIFESTS = Path(__file__).resolve().parents[2] / "data" / "intune" / "winget-pkgs" / "manifests"
ARP = r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"
SCRIPT = r"%windir%\sysnative\WindowsPowerShell\v1.0\powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass"


def _manifests() -> list[Manifest]:
    return [load_directory(d) for d in sorted({p.parent for p in MANIFESTS.rglob("*.installer.yaml")})]


def _pick(
    package_id: str, installer_type: str, architecture: str, scope: str | None = None
) -> tuple[Manifest, Installer]:
    manifest = next(m for m in _manifests() if m.package_id == package_id)
    installer = next(
        i
        for i in manifest.installers
        if i.installer_type == installer_type and i.architecture == architecture and (scope is None or i.scope == scope)
    )
    return manifest, installer


def _script(rule: dict[str, Any]) -> str:
    return base64.b64decode(rule["scriptContent"]).decode()


# (package, installer type, arch, scope) → expected install, uninstall, run-as, detection kind, rule check
TABLE = [
    pytest.param(
        ("7zip.7zip", "wix", "x64", None),
        'msiexec /i "7z2603-x64.msi" /qn /norestart',
        'msiexec /x "{23170F69-40C1-2702-2603-000001000000}" /qn /norestart',
        "system",
        "productCode",
        lambda r: r["productCode"] == "{23170F69-40C1-2702-2603-000001000000}",
        id="msi-wix",
    ),
    pytest.param(
        ("7zip.7zip", "exe", "x64", None),
        '"7z2603-x64.exe" /S',
        f'{SCRIPT} -File ".\\greenlight-uninstall.ps1"',
        "system",
        "registry",
        lambda r: (
            r["keyPath"] == ARP + r"\7-Zip"
            and r["operator"] == "greaterThanOrEqual"
            and r["comparisonValue"] == "26.03"
        ),
        id="exe",
    ),
    pytest.param(
        ("Mozilla.Firefox", "nullsoft", "x64", None),
        '"FirefoxSetup143.0.exe" /S /PreventRebootRequired=true',
        f'{SCRIPT} -File ".\\greenlight-uninstall.ps1"',
        "system",
        "registry",
        lambda r: r["keyPath"] == ARP + r"\Mozilla Firefox 143.0 (x64 en-US)" and not r["check32BitOn64System"],
        id="nullsoft",
    ),
    pytest.param(
        ("Git.Git", "inno", "x64", "machine"),
        '"Git-2.51.0-64-bit.exe" /SP- /VERYSILENT /SUPPRESSMSGBOXES /NORESTART '
        "/COMPONENTS=icons,ext,gitlfs,assoc,assoc_sh,consolefont,windowsterminal,scalar",
        f'{SCRIPT} -File ".\\greenlight-uninstall.ps1"',
        "system",
        "script",
        lambda r: "$displayName = 'Git'" in _script(r) and "$wanted = '2.51.0'" in _script(r),
        id="inno",
    ),
    pytest.param(
        ("Microsoft.VisualStudioCode", "inno", "x64", "user"),
        '"VSCodeUserSetup-x64-1.110.0.exe" /SP- /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /mergetasks=!runcode',
        f'{SCRIPT} -File ".\\greenlight-uninstall.ps1"',
        "user",
        "script",
        lambda r: "Microsoft Visual Studio Code" in _script(r),
        id="inno-user-scope",
    ),
    pytest.param(
        ("Python.Python.3.12", "burn", "x64", "machine"),
        '"python-3.12.10-amd64.exe" /quiet /norestart InstallAllUsers=1 PrependPath=1',
        '"python-3.12.10-amd64.exe" /uninstall /quiet /norestart',
        "system",
        "registry",
        lambda r: (
            r["keyPath"] == ARP + r"\{b6ce88eb-2ce3-4d91-8efc-425ae1f48caf}"
            and r["comparisonValue"] == "3.12.10150.0"
            and r["check32BitOn64System"]
        ),
        id="burn",
    ),
    pytest.param(
        ("Microsoft.WindowsTerminal", "msix", "x64", None),
        f'{SCRIPT} -File ".\\greenlight-install.ps1"',
        f'{SCRIPT} -File ".\\greenlight-uninstall.ps1"',
        "user",
        "script",
        lambda r: "Get-AppxPackage -AllUsers -Name 'Microsoft.WindowsTerminal'" in _script(r),
        id="msix",
    ),
    pytest.param(
        ("Notepad++.Notepad++", "zip", "x64", None),
        f'{SCRIPT} -File ".\\greenlight-install.ps1"',
        f'{SCRIPT} -File ".\\greenlight-uninstall.ps1"',
        "system",
        "marker",
        lambda r: (
            r["keyPath"] == r"HKEY_LOCAL_MACHINE\SOFTWARE\Greenlight\Apps\Notepad++.Notepad++"
            and r["comparisonValue"] == "8.9.3"
        ),
        id="zip-portable",
    ),
]


@pytest.mark.parametrize(("pick", "install", "uninstall", "run_as", "detection", "rule_ok"), TABLE)
async def test_installer_type_maps_to_what_a_packager_would_choose(
    graph: GraphClient, pick, install, uninstall, run_as, detection, rule_ok
) -> None:
    manifest, installer = _pick(*pick)
    plan = map_installer(manifest, installer)
    body = plan.body
    assert body["installCommandLine"] == install
    assert body["uninstallCommandLine"] == uninstall
    assert body["installExperience"]["runAsAccount"] == run_as
    assert plan.detection == detection
    (rule,) = body["rules"]
    assert rule["ruleType"] == "detection" and rule_ok(rule)
    assert plan.marker in body["notes"] and manifest.package_id in body["notes"]
    assert body["returnCodes"][:5] == [
        {"@odata.type": "#microsoft.graph.win32LobAppReturnCode", "returnCode": c, "type": t}
        for c, t in ((0, "success"), (1707, "success"), (3010, "softReboot"), (1641, "hardReboot"), (1618, "retry"))
    ]
    for script_name in ("greenlight-install.ps1", "greenlight-uninstall.ps1"):
        if script_name in install + uninstall:
            assert script_name in plan.extra_files
    created = await graph.post("deviceAppManagement/mobileApps", body)
    assert created is not None and created["displayName"] == body["displayName"]


def test_msix_requirements_and_arm64_targeting() -> None:
    manifest, installer = _pick("Microsoft.WindowsTerminal", "msix", "arm64")
    body = map_installer(manifest, installer).body
    assert body["minimumSupportedWindowsRelease"] == "2004"  # MinimumOSVersion 10.0.19041.0
    assert body["allowedArchitectures"] == "arm64" and body["applicableArchitectures"] == "none"
    assert body["displayName"].endswith("(arm64)")


def test_packages_return_codes_from_the_manifest_are_kept() -> None:
    manifest, installer = _pick("Notepad++.Notepad++", "nullsoft", "x64")
    codes = {c["returnCode"]: c["type"] for c in map_installer(manifest, installer).body["returnCodes"]}
    assert codes[5] == "retry"  # ExpectedReturnCodes: packageInUse


async def test_every_real_manifest_maps_to_a_body_the_sandbox_accepts(graph: GraphClient) -> None:
    accepted, refused = 0, []
    for manifest in _manifests():
        for installer in manifest.installers:
            try:
                plan = map_installer(manifest, installer)
            except MappingError as error:
                refused.append((manifest.package_id, installer.architecture, str(error)))
                continue
            await graph.post("deviceAppManagement/mobileApps", plan.body)
            accepted += 1
    assert accepted == 41
    # The only refusal is 7-Zip's 32-bit ARM build: Intune cannot target ARM32.
    assert [(p, a) for p, a, _ in refused] == [("7zip.7zip", "arm")]


async def test_sandbox_rejects_unknown_properties_like_graph(graph: GraphClient) -> None:
    manifest, installer = _pick("7zip.7zip", "wix", "x64")
    body = map_installer(manifest, installer).body | {"installCommandLin": "typo"}
    with pytest.raises(GraphBadRequest) as caught:
        await graph.post("deviceAppManagement/mobileApps", body)
    assert caught.value.code == "BadRequest" and "installCommandLin" in str(caught.value)
    assert caught.value.request_id


async def test_v1_endpoint_rejects_beta_only_properties(graph: GraphClient) -> None:
    manifest, installer = _pick("7zip.7zip", "wix", "x64")
    body = map_installer(manifest, installer).body
    with pytest.raises(GraphBadRequest, match=r"displayVersion|allowAvailableUninstall|allowedArchitectures"):
        await graph.post("deviceAppManagement/mobileApps", body, version=ApiVersion.V1)


async def test_a_mapped_real_manifest_publishes_with_its_scripts_in_the_content(
    graph: GraphClient, blob_http: httpx.AsyncClient, sandbox_control: Any, tmp_path: Path
) -> None:
    """Firefox (nullsoft): the uninstall script the mapping chose travels in the content the sandbox verified."""
    manifest, installer = _pick("Mozilla.Firefox", "nullsoft", "x64")
    plan = map_installer(manifest, installer)
    fake_installer = b"MZ" + bytes(300_000)  # stands in for the verified download
    publisher = Win32AppPublisher(graph, blob_http, PublishOptions(poll_interval=0.1))
    published = await publish_plan(
        publisher, plan, lambda: io.BytesIO(fake_installer), len(fake_installer), crc32=zlib.crc32(fake_installer)
    )
    state = sandbox_control.state()
    assert [a["id"] for a in state["apps"]] == [published.app_id]
    assert state["commits"][-1]["ok"] is True

    build = content_for(plan, lambda: io.BytesIO(fake_installer), len(fake_installer))(ContentKeys.generate())
    sink = io.BytesIO()
    info = write_blob(build, sink)
    inner = io.BytesIO()
    verify_blob([sink.getvalue()], info, build.unencrypted_size, inner)
    with zipfile.ZipFile(inner) as archive:
        assert sorted(archive.namelist()) == sorted([plan.setup_file, "greenlight-uninstall.ps1"])
        script = archive.read("greenlight-uninstall.ps1").decode()
    assert "$keyName = 'Mozilla Firefox 143.0 (x64 en-US)'" in script and "'/S'" in script
