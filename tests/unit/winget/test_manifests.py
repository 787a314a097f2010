"""Manifest parsing (real winget-pkgs manifests, schema 1.x shapes, hostile values) and installer choice."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from greenlight.winget import manifest, safe_yaml
from greenlight.winget.errors import HostileInput, ManifestError, NoSuitableInstaller, UnsafeUrl
from greenlight.winget.installer_select import Requirements, choose_installer
from sandbox.winget_cdn.builder import merge_documents
from tests.unit.winget.conftest import SEED, VECTORS

REAL = {
    "7zip.7zip": ("26.03", {"exe", "wix"}),
    "Notepad++.Notepad++": ("8.9.3", {"nullsoft", "wix", "zip"}),
    "Microsoft.VisualStudioCode": ("1.110.0", {"inno"}),
    "Mozilla.Firefox": ("143.0", {"nullsoft"}),
    "VideoLAN.VLC": ("3.0.24", {"zip", "nullsoft", "wix"}),
    "Python.Python.3.12": ("3.12.10", {"burn"}),
    "Git.Git": ("2.51.0", {"inno"}),
    "Microsoft.WindowsTerminal": ("1.23.12811.0", {"msix"}),
}


def _dirs() -> dict[str, Path]:
    found = {}
    for path in SEED.rglob("*.installer.yaml"):
        found[path.name.removesuffix(".installer.yaml")] = path.parent
    return found


def load(package_id: str) -> manifest.Manifest:
    return manifest.load_directory(_dirs()[package_id])


@pytest.mark.parametrize("package_id", sorted(REAL))
def test_real_multi_file_manifests_parse(package_id: str) -> None:
    parsed = load(package_id)
    version, types = REAL[package_id]
    assert parsed.package_id == package_id and parsed.version == version
    assert {i.installer_type for i in parsed.installers} == types
    assert parsed.publisher and parsed.name
    assert all(len(i.sha256) == 64 and i.url.startswith("https://") for i in parsed.installers)


@pytest.mark.parametrize("package_id", sorted(REAL))
def test_merged_form_parses_to_the_same_manifest(package_id: str) -> None:
    directory = _dirs()[package_id]
    documents = [safe_yaml.load(p.read_bytes(), p.name) for p in sorted(directory.glob("*.yaml"))]
    merged = merge_documents(documents)
    from_merged = manifest.parse_merged(yaml.safe_dump(merged).encode())
    assert from_merged.installers == load(package_id).installers
    assert set(from_merged.localizations) == set(load(package_id).localizations)


def test_root_level_fields_fall_back_into_each_installer() -> None:
    seven = load("7zip.7zip")
    assert {i.scope for i in seven.installers} == {"machine"}  # Scope is given once, at the root
    assert all(i.upgrade_behavior == "install" for i in seven.installers)
    wix = [i for i in seven.installers if i.installer_type == "wix"]
    assert wix[0].product_code.startswith("{23170F69") and wix[0].apps_and_features[0]["UpgradeCode"]


def test_zip_installers_carry_their_nested_installer() -> None:
    vlc = load("VideoLAN.VLC")
    zipped = [i for i in vlc.installers if i.installer_type == "zip"]
    assert zipped and all(i.effective_type == "portable" and i.nested_installer_files for i in zipped)


def test_msix_installer_keeps_signature_hash_and_family_name() -> None:
    terminal = load("Microsoft.WindowsTerminal")
    assert all(i.package_family_name == "Microsoft.WindowsTerminal_8wekyb3d8bbwe" for i in terminal.installers)
    assert all(i.signature_sha256 and len(i.signature_sha256) == 64 for i in terminal.installers)


def test_localized_fields_fall_back_to_the_default_locale() -> None:
    firefox = load("Mozilla.Firefox")
    assert firefox.default_locale == "en-US"
    german = firefox.localized("de-DE")
    assert german["PackageLocale"] == "de-DE" and german["Publisher"] == firefox.publisher
    assert firefox.localized("de-AT")["PackageLocale"] == "de-DE"  # same language
    assert firefox.localized("ja-JP")["PackageLocale"] == "en-US"  # default


def _singleton(**installer: object) -> dict:
    entry = {
        "Architecture": "x64",
        "InstallerType": "exe",
        "InstallerUrl": "https://example.com/app.exe",
        "InstallerSha256": "A" * 64,
    }
    entry.update(installer)
    return {
        "PackageIdentifier": "Contoso.App",
        "PackageVersion": "1.0",
        "PackageLocale": "en-US",
        "Publisher": "Contoso",
        "PackageName": "App",
        "License": "MIT",
        "ShortDescription": "x",
        "InstallerSwitches": {"Silent": "/S", "Log": "/log"},
        "Installers": [entry],
        "ManifestType": "singleton",
        "ManifestVersion": "1.0.0",
    }


def test_switches_merge_key_by_key_with_the_installer_winning() -> None:
    doc = _singleton(InstallerSwitches={"Silent": "/quiet"})
    parsed = manifest.parse_documents([doc])
    assert dict(parsed.installers[0].switches) == {"Silent": "/quiet", "Log": "/log"}


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"InstallerSha256": None}, ManifestError, r"Installers\[0\].*InstallerSha256"),
        ({"Architecture": "x65"}, ManifestError, r"Installers\[0\]: Architecture 'x65'"),
        ({"InstallerType": "dmg"}, ManifestError, "InstallerType 'dmg'"),
        ({"InstallerUrl": "http://example.com/a.exe"}, UnsafeUrl, "not https"),
        ({"InstallerUrl": "https://10.0.0.5/a.exe"}, UnsafeUrl, "private"),
        ({"InstallerUrl": "https://169.254.169.254/latest"}, UnsafeUrl, "private"),
        ({"InstallerUrl": "https://[::ffff:192.168.1.1]/a.exe"}, UnsafeUrl, "private"),
        ({"InstallerUrl": "https://user:pw@example.com/a.exe"}, UnsafeUrl, "credentials"),
        ({"InstallerUrl": "https://127.0.0.1/a.exe"}, UnsafeUrl, "private"),
        ({"InstallerUrl": "https://localhost/a.exe"}, UnsafeUrl, "local machine"),
        (
            {
                "InstallerType": "zip",
                "NestedInstallerType": "exe",
                "NestedInstallerFiles": [{"RelativeFilePath": "../../x.exe"}],
            },
            HostileInput,
            "unsafe RelativeFilePath",
        ),
    ],
)
def test_bad_installer_values_are_refused_naming_the_field(change: dict, error, match: str) -> None:
    with pytest.raises(error, match=match):
        manifest.parse_documents([_singleton(**change)])


def test_tags_must_be_a_list_of_strings() -> None:
    doc = _singleton()
    doc["Tags"] = "not-a-list"
    with pytest.raises(ManifestError, match="Tags must be a list"):
        manifest.parse_documents([doc])


def test_loopback_installers_are_allowed_only_when_asked_for() -> None:
    doc = _singleton(InstallerUrl="https://127.0.0.1:8443/a.exe")
    assert manifest.parse_documents([doc], allow_loopback=True).installers[0].url.startswith("https://127.0.0.1")


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "Contoso/App", "a b", "x" * 200, ""])
def test_path_traversal_and_invalid_ids_are_refused(bad_id: str) -> None:
    doc = _singleton()
    doc["PackageIdentifier"] = bad_id
    with pytest.raises((HostileInput, ManifestError)):
        manifest.parse_documents([doc])


def test_unsupported_schema_and_missing_parts_are_refused() -> None:
    doc = _singleton()
    doc["ManifestVersion"] = "2.0.0"
    with pytest.raises(ManifestError, match="ManifestVersion"):
        manifest.parse_documents([doc])
    version_only = {
        "PackageIdentifier": "A.B",
        "PackageVersion": "1",
        "ManifestType": "version",
        "ManifestVersion": "1.0.0",
    }
    with pytest.raises(ManifestError, match="exactly one installer manifest"):
        manifest.parse_documents([version_only])


def test_the_v2_builder_merged_manifest_parses() -> None:
    data = (VECTORS / "v2-builder/manifests/e/Example/App/1.0.0/2b70546f-Example.App.yaml").read_bytes()
    parsed = manifest.parse_merged(data)
    assert (parsed.package_id, parsed.version, parsed.publisher) == ("Example.App", "1.0.0", "Example Inc")


# ---------------------------------------------------------------- installer choice


def test_x64_machine_prefers_msi_and_explains_why() -> None:
    choice = choose_installer(load("7zip.7zip"), Requirements(architecture="x64"))
    assert (choice.installer.architecture, choice.installer.installer_type) == ("x64", "wix")
    assert "exact" in choice.reasons[0]
    assert any("cannot run on x64" in why for _, why in choice.rejected)
    assert choice == choose_installer(load("7zip.7zip"), Requirements(architecture="x64"))  # deterministic


def test_arm64_prefers_native_over_emulated() -> None:
    choice = choose_installer(load("7zip.7zip"), Requirements(architecture="arm64"))
    assert choice.installer.architecture == "arm64"


def test_scope_filters_and_ranks() -> None:
    git = load("Git.Git")
    assert choose_installer(git, Requirements(architecture="x64", scope="user")).installer.scope == "user"
    assert choose_installer(git, Requirements(architecture="x64", scope="machine")).installer.scope == "machine"


def test_installer_type_preference_is_honoured() -> None:
    choice = choose_installer(load("7zip.7zip"), Requirements(architecture="x64", installer_types=("exe",)))
    assert choice.installer.installer_type == "exe"


def test_no_fitting_installer_is_a_named_error() -> None:
    with pytest.raises(NoSuitableInstaller, match=r"Git\.Git"):
        choose_installer(load("Git.Git"), Requirements(architecture="arm"))
