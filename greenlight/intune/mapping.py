"""WinGet manifest + chosen installer → win32LobApp body, with the choices a packager would make by hand.

Commands per installer type (winget's default silent switches, then the manifest's own; format reference §3.2–3.3):
  msi/wix    msiexec /i "<file>" /qn /norestart <Custom>        uninstall msiexec /x {ProductCode} /qn /norestart
  burn       "<file>" /quiet /norestart <Custom>                 uninstall "<file>" /uninstall /quiet /norestart
  nullsoft   "<file>" /S <Custom>                                uninstall via the ARP entry (script in content)
  inno       "<file>" /SP- /VERYSILENT /SUPPRESSMSGBOXES /NORESTART <Custom>    uninstall via ARP entry
  exe        "<file>" <manifest Silent> <Custom>  (no silent switch → MappingError: it would hang on a dialog)
  msix/appx  provisioned (machine) or per-user Add-AppxPackage, by a script in the content
  zip        portable: expanded under Program Files + PATH + marker key, by a script in the content
Detection, in order: MSI product code (version ≥ when the ARP version is known); the ARP registry key named by
the manifest's ProductCode (DisplayVersion ≥); the Greenlight marker key (portable); otherwise a script that finds
the ARP entry by display name (or the MSIX package) with version ≥.
"""

from __future__ import annotations

import base64
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from greenlight.intune import scripts
from greenlight.intune.detection_xml import PACKAGE_FILE_NAME
from greenlight.intune.errors import MappingError
from greenlight.numbers import ascii_int
from greenlight.winget.manifest import Installer, Manifest

DEFAULT_RETURN_CODES = ((0, "success"), (1707, "success"), (3010, "softReboot"), (1641, "hardReboot"), (1618, "retry"))
_RESPONSE_TYPES = {
    "rebootRequiredToFinish": "softReboot",
    "rebootRequiredForInstall": "softReboot",
    "rebootInitiated": "hardReboot",
    "installInProgress": "retry",
    "packageInUse": "retry",
    "packageInUseByApplication": "retry",
}
_DEFAULT_SILENT = {
    "msi": "/qn /norestart",
    "wix": "/qn /norestart",
    "burn": "/quiet /norestart",
    "nullsoft": "/S",
    "inno": "/SP- /VERYSILENT /SUPPRESSMSGBOXES /NORESTART",
}
_EXTENSIONS = {"msi": ".msi", "wix": ".msi", "burn": ".exe", "nullsoft": ".exe", "inno": ".exe", "exe": ".exe",
               "msix": ".msix", "appx": ".appx", "zip": ".zip"}  # fmt: skip
# Build number → Intune's minimumSupportedWindowsRelease (the first release at or above the manifest minimum).
_RELEASES = ((14393, "1607"), (15063, "1703"), (16299, "1709"), (17134, "1803"), (17763, "1809"), (18362, "1903"),
             (18363, "1909"), (19041, "2004"), (19042, "2H20"), (19043, "21H1"), (19044, "Windows10_21H2"),
             (19045, "Windows10_22H2"), (22000, "Windows11_21H2"), (22621, "Windows11_22H2"),
             (22631, "Windows11_23H2"), (26100, "Windows11_24H2"))  # fmt: skip
# 32-bit ARM has no entry: Windows 11 24H2 dropped ARM32 apps, and Intune cannot target it.
_ALLOWED_ARCHITECTURES = {"x64": "x64", "x86": "x86,x64", "arm64": "arm64", "neutral": "x86,x64,arm64"}
_ARP_ROOT = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"


@dataclass(frozen=True)
class MsiFacts:
    """Properties read from the MSI itself (more trustworthy than the manifest: WinTuner #128)."""

    product_code: str
    product_version: str
    upgrade_code: str | None = None
    manufacturer: str | None = None
    product_name: str | None = None


@dataclass(frozen=True)
class Win32AppPlan:
    body: dict[str, Any]
    marker: str  # in body["notes"]; how a retry finds the app it created
    setup_file: str  # the installer's file name inside the content
    extra_files: dict[str, bytes] = field(default_factory=dict)  # scripts placed beside the installer
    detection: str = ""  # productCode | registry | marker | script (for logs, docs and tests)


def app_marker(package_id: str, version: str, architecture: str, scope: str) -> str:
    return f"[Greenlight|{package_id}|{version}|{architecture}|{scope}]"


def setup_file_name(installer: Installer, package_id: str) -> str:
    """The installer's file name from its URL, made safe for a command line (no spaces, quotes or separators)."""
    name = posixpath.basename(unquote(urlsplit(installer.url).path)) if installer.url else ""
    name = re.sub(r"[^A-Za-z0-9._+-]", "", name.replace(" ", ""))
    extension = _EXTENSIONS.get(installer.installer_type, "")
    if not name or name.startswith("."):
        name = re.sub(r"[^A-Za-z0-9._-]", "", package_id) + extension
    if extension and not name.lower().endswith(extension):
        name += extension
    return name


def windows_release(minimum_os_version: str | None) -> str:
    if not minimum_os_version:
        return "1607"
    parts = minimum_os_version.split(".")
    build = (ascii_int(parts[2]) or 0) if len(parts) >= 3 and parts[0] == "10" else 0
    for release_build, release in _RELEASES:
        if build <= release_build:
            return release
    return _RELEASES[-1][1]


def _return_codes(installer: Installer) -> list[dict[str, Any]]:
    codes: dict[int, str] = dict(DEFAULT_RETURN_CODES)
    for code in installer.success_codes:
        codes.setdefault(code, "success")
    for expected in installer.fields.get("ExpectedReturnCodes") or ():
        response = _RESPONSE_TYPES.get(str(expected.get("ReturnResponse")))
        try:
            code = int(str(expected.get("InstallerReturnCode")), 0)
        except ValueError:
            continue
        if response:
            codes.setdefault(code, response)
    return [{"returnCode": code, "type": kind} for code, kind in codes.items()]


def _arp(installer: Installer) -> dict[str, Any]:
    return dict(installer.apps_and_features[0]) if installer.apps_and_features else {}


def _switches(installer: Installer, kind: str) -> str:
    switches = installer.switches
    silent = switches.get("Silent") or switches.get("SilentWithProgress") or _DEFAULT_SILENT.get(kind, "")
    return " ".join(part for part in (silent, switches.get("Custom", "")) if part).strip()


def _rule_registry(installer: Installer, key_name: str, version: str | None, user: bool) -> dict[str, Any]:
    hive = "HKEY_CURRENT_USER" if user else "HKEY_LOCAL_MACHINE"
    rule: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.win32LobAppRegistryRule",
        "ruleType": "detection",
        # Burn's engine is 32-bit, so bundles register in the 32-bit view whatever the payload's architecture.
        "check32BitOn64System": installer.architecture == "x86" or installer.installer_type == "burn",
        "keyPath": f"{hive}\\{_ARP_ROOT}\\{key_name}",
        "valueName": "DisplayVersion" if version else None,
        "operationType": "version" if version else "exists",
        "operator": "greaterThanOrEqual" if version else "notConfigured",
        "comparisonValue": version,
    }
    return rule


def _rule_script(script: str) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.win32LobAppPowerShellScriptRule",
        "ruleType": "detection",
        "enforceSignatureCheck": False,
        "runAs32Bit": False,
        "scriptContent": scripts.encode(script),
        "operationType": "notConfigured",
        "operator": "notConfigured",
    }


def map_installer(
    manifest: Manifest,
    installer: Installer,
    *,
    msi: MsiFacts | None = None,
    icon_png: bytes | None = None,
    locale: str | None = None,
) -> Win32AppPlan:
    """Raises MappingError when the installer cannot be deployed unattended the way Greenlight would."""
    kind = installer.installer_type
    if installer.architecture not in _ALLOWED_ARCHITECTURES:
        raise MappingError(f"{manifest.package_id}: {installer.architecture} installers cannot be deployed by Intune")
    user = installer.scope == "user"
    scope = installer.scope or "machine"
    setup = setup_file_name(installer, manifest.package_id)
    arp = _arp(installer)
    version = manifest.version
    arp_version = str(arp.get("DisplayVersion") or "") or None
    product_code = (msi.product_code if msi else None) or installer.product_code or arp.get("ProductCode")
    name = str(arp.get("DisplayName") or manifest.name)
    extra: dict[str, bytes] = {}
    rules: list[dict[str, Any]]
    detection: str

    if kind in {"msi", "wix"}:
        install = f'msiexec /i "{setup}" {_switches(installer, kind)}'
        uninstall = f'msiexec /x "{product_code}" /qn /norestart' if product_code else f'msiexec /x "{setup}" /qn'
    elif kind == "burn":
        install = f'"{setup}" {_switches(installer, kind)}'
        uninstall = f'"{setup}" /uninstall /quiet /norestart'
    elif kind in {"nullsoft", "inno", "exe"}:
        silent = _switches(installer, kind)
        if kind == "exe" and not (installer.switches.get("Silent") or installer.switches.get("SilentWithProgress")):
            raise MappingError(f"{manifest.package_id}: exe installer without a silent switch cannot run unattended")
        install = f'"{setup}" {silent}'
        uninstall_silent = {"nullsoft": "/S", "inno": _DEFAULT_SILENT["inno"]}.get(
            kind, installer.switches.get("Silent") or ""
        )
        extra[scripts.UNINSTALL_SCRIPT] = scripts.arp_uninstall(product_code, name, uninstall_silent).encode()
        uninstall = scripts.run_script(scripts.UNINSTALL_SCRIPT)
    elif kind in {"msix", "appx"}:
        package_name = (installer.package_family_name or "").rsplit("_", 1)[0]
        if not package_name:
            raise MappingError(f"{manifest.package_id}: {kind} installer without PackageFamilyName")
        machine = not user
        extra[scripts.INSTALL_SCRIPT] = scripts.msix_install(setup, machine).encode()
        extra[scripts.UNINSTALL_SCRIPT] = scripts.msix_uninstall(package_name, machine).encode()
        install, uninstall = scripts.run_script(scripts.INSTALL_SCRIPT), scripts.run_script(scripts.UNINSTALL_SCRIPT)
        rules, detection = [_rule_script(scripts.msix_detection(package_name, version))], "script"
    elif kind == "zip" and installer.nested_installer_type == "portable":
        command = installer.nested_installer_files[0].relative_path.replace("\\", "/")
        command_dir = posixpath.dirname(command).replace("/", "\\")
        machine = not user
        extra[scripts.INSTALL_SCRIPT] = scripts.portable_install(
            setup, manifest.package_id, version, command_dir, machine
        ).encode()
        extra[scripts.UNINSTALL_SCRIPT] = scripts.portable_uninstall(manifest.package_id, command_dir, machine).encode()
        install, uninstall = scripts.run_script(scripts.INSTALL_SCRIPT), scripts.run_script(scripts.UNINSTALL_SCRIPT)
        hive = "HKEY_CURRENT_USER" if user else "HKEY_LOCAL_MACHINE"
        rules = [
            {
                "@odata.type": "#microsoft.graph.win32LobAppRegistryRule",
                "ruleType": "detection",
                "check32BitOn64System": False,
                "keyPath": f"{hive}\\{scripts.MARKER_KEY}\\{manifest.package_id}",
                "valueName": "Version",
                "operationType": "version",
                "operator": "greaterThanOrEqual",
                "comparisonValue": version,
            }
        ]
        detection = "marker"
    else:
        nested = f"/{installer.nested_installer_type}" if installer.nested_installer_type else ""
        raise MappingError(f"{manifest.package_id}: installer type {kind}{nested} is not supported for Win32 apps")

    if kind in {"msi", "wix"} and product_code:
        product_version = (msi.product_version if msi else None) or arp_version
        rules = [
            {
                "@odata.type": "#microsoft.graph.win32LobAppProductCodeRule",
                "ruleType": "detection",
                "productCode": product_code,
                "productVersionOperator": "greaterThanOrEqual" if product_version else "notConfigured",
                "productVersion": product_version,
            }
        ]
        detection = "productCode"
    elif kind in {"msi", "wix", "burn", "nullsoft", "inno", "exe"}:
        if product_code:
            rules, detection = [_rule_registry(installer, product_code, arp_version or version, user)], "registry"
        else:
            rules, detection = [_rule_script(scripts.arp_detection(None, name, arp_version or version))], "script"

    publisher = manifest.publisher or str(arp.get("Publisher") or "") or manifest.package_id
    localized = manifest.localized(locale)
    marker = app_marker(manifest.package_id, version, installer.architecture, scope)
    suffix = "" if installer.architecture in {"x64", "neutral"} else f" ({installer.architecture})"
    body: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.win32LobApp",
        "displayName": f"{manifest.name} {version}{suffix}",
        "description": str(localized.get("Description") or localized.get("ShortDescription") or manifest.name).strip(),
        "publisher": publisher,
        "developer": str(localized.get("Author") or publisher),
        "informationUrl": localized.get("PackageUrl") or localized.get("PublisherUrl"),
        "privacyInformationUrl": localized.get("PrivacyUrl"),
        "notes": f"Published by Greenlight from WinGet package {manifest.package_id} {version}. {marker}",
        "displayVersion": version,
        "fileName": PACKAGE_FILE_NAME,
        "setupFilePath": setup,
        "installCommandLine": install.strip(),
        "uninstallCommandLine": uninstall.strip(),
        "installExperience": {
            "@odata.type": "#microsoft.graph.win32LobAppInstallExperience",
            "runAsAccount": "user" if user else "system",
            "deviceRestartBehavior": "basedOnReturnCode",
            "maxRunTimeInMinutes": 60,
        },
        "returnCodes": [
            {"@odata.type": "#microsoft.graph.win32LobAppReturnCode", **c} for c in _return_codes(installer)
        ],
        "rules": rules,
        "applicableArchitectures": "none",
        "allowedArchitectures": _ALLOWED_ARCHITECTURES[installer.architecture],
        "minimumSupportedWindowsRelease": windows_release(installer.minimum_os_version),
        "allowAvailableUninstall": True,
        "msiInformation": None,
    }
    if kind in {"msi", "wix"} and product_code:
        body["msiInformation"] = {
            "@odata.type": "#microsoft.graph.win32LobAppMsiInformation",
            "productCode": product_code,
            "productVersion": (msi.product_version if msi else None) or arp_version or version,
            "upgradeCode": (msi.upgrade_code if msi else None) or arp.get("UpgradeCode"),
            "requiresReboot": False,
            "packageType": "perUser" if user else "perMachine",
            "productName": (msi.product_name if msi else None) or manifest.name,
            "publisher": (msi.manufacturer if msi else None) or publisher,
        }
    if icon_png:
        body["largeIcon"] = {
            "@odata.type": "#microsoft.graph.mimeContent",
            "type": "image/png",
            "value": base64.b64encode(icon_png).decode("ascii"),
        }
    return Win32AppPlan(body, marker, setup, extra, detection)
