"""Mapping decisions that need no server (the table test against the sandbox covers whole bodies)."""

from __future__ import annotations

import pytest

from greenlight.intune.errors import MappingError
from greenlight.intune.mapping import map_installer, setup_file_name, windows_release
from greenlight.winget.manifest import parse_documents


def _manifest(installer: dict) -> object:
    return parse_documents(
        [
            {
                "PackageIdentifier": "Example.Tool",
                "PackageVersion": "1.2.3",
                "DefaultLocale": "en-US",
                "ManifestType": "version",
                "ManifestVersion": "1.6.0",
            },
            {
                "PackageIdentifier": "Example.Tool",
                "PackageVersion": "1.2.3",
                "ManifestType": "installer",
                "ManifestVersion": "1.6.0",
                "Installers": [
                    {
                        "Architecture": "x64",
                        "InstallerUrl": "https://example.com/downloads/Example%20Tool%20Setup.exe",
                        "InstallerSha256": "A" * 64,
                        **installer,
                    }
                ],
            },
            {
                "PackageIdentifier": "Example.Tool",
                "PackageVersion": "1.2.3",
                "PackageLocale": "en-US",
                "Publisher": "Example Corp",
                "PackageName": "Example Tool",
                "License": "MIT",
                "ShortDescription": "A tool",
                "ManifestType": "defaultLocale",
                "ManifestVersion": "1.6.0",
            },
        ]
    )


@pytest.mark.parametrize(
    ("minimum", "release"),
    [
        (None, "1607"),
        ("10.0.0.0", "1607"),
        ("10.0.17763.0", "1809"),
        ("10.0.19041.0", "2004"),
        ("10.0.22000.0", "Windows11_21H2"),
    ],
)
def test_minimum_os_version_maps_to_the_first_intune_release_at_or_above(minimum: str | None, release: str) -> None:
    assert windows_release(minimum) == release


def test_setup_file_name_has_no_spaces_and_the_right_extension() -> None:
    manifest = _manifest({"InstallerType": "nullsoft"})
    assert setup_file_name(manifest.installers[0], manifest.package_id) == "ExampleToolSetup.exe"


def test_exe_without_silent_switch_is_refused_with_a_reason() -> None:
    manifest = _manifest({"InstallerType": "exe"})
    with pytest.raises(MappingError, match="silent"):
        map_installer(manifest, manifest.installers[0])


def test_msi_product_code_detection_uses_the_arp_version_when_known() -> None:
    manifest = _manifest(
        {
            "InstallerType": "msi",
            "ProductCode": "{11111111-2222-3333-4444-555555555555}",
            "AppsAndFeaturesEntries": [{"DisplayVersion": "1.2.3.400", "UpgradeCode": "{U}"}],
            "Scope": "user",
        }
    )
    plan = map_installer(manifest, manifest.installers[0], icon_png=b"\x89PNG")
    (rule,) = plan.body["rules"]
    assert rule["productVersionOperator"] == "greaterThanOrEqual" and rule["productVersion"] == "1.2.3.400"
    assert plan.body["msiInformation"]["packageType"] == "perUser"
    assert plan.body["installExperience"]["runAsAccount"] == "user"
    assert plan.body["largeIcon"]["type"] == "image/png"
