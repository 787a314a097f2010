"""MSI tables read in pure Python, checked against the MSI inside Microsoft's AESetup.intunewin sample."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from greenlight.intune import detection_xml
from greenlight.intune.errors import ContentSourceError
from greenlight.intune.msi import read_msi, stream_name
from greenlight.intune.package import pack_folder
from greenlight.intune.reader import DETECTION_PATH, unpack


@pytest.fixture(scope="module")
def aesetup_msi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = Path(__file__).resolve().parents[2] / "data" / "intune"
    work = tmp_path_factory.mktemp("aesetup")
    unpack(data / "redanthrax_intunewinlib__AESetup.intunewin", work / "inner.zip")
    with zipfile.ZipFile(work / "inner.zip") as inner:
        inner.extract("AESetup.msi", work / "setup")
    return work / "setup" / "AESetup.msi"


def test_stream_names_use_windows_installers_compression() -> None:
    assert stream_name("_StringPool")[:2] == "\u4840\u3f3f"  # "_S" packed into one UTF-16 unit


def test_msi_facts_match_the_property_table(aesetup_msi: Path) -> None:
    facts, _, product_name = read_msi(aesetup_msi)
    assert facts.product_code == "{A39A1B33-CEB9-4875-BA5B-980AD93D91FC}"
    assert facts.product_version == "2.6.3"
    assert facts.upgrade_code == "{9C48E0AC-1427-4615-8A5B-F2E7F01848F4}"
    assert (facts.manufacturer, product_name) == ("CyberFOX LLC", "AutoElevate")


def test_pack_of_an_msi_writes_msi_info_like_intunewinapputil(
    aesetup_msi: Path, expected_values: dict, tmp_path: Path
) -> None:
    result = pack_folder(aesetup_msi.parent, "AESetup.msi", tmp_path)
    with zipfile.ZipFile(result.path) as outer:
        application = detection_xml.parse(outer.read(DETECTION_PATH))
    expected = dict(expected_values["redanthrax_intunewinlib__AESetup.intunewin"]["msi_info"])
    assert application.name == "AutoElevate"
    assert list(application.msi_info) == list(expected)  # same elements, same order
    # The MSI's ServiceInstall table installs two services; Microsoft's tool still wrote "false". We report what the
    # tables say, and that is the one value that differs.
    assert application.msi_info.pop("MsiIncludesServices") == "true"
    expected.pop("MsiIncludesServices")
    assert application.msi_info == expected


def test_a_file_that_is_not_an_msi_is_a_named_error(tmp_path: Path) -> None:
    fake = tmp_path / "fake.msi"
    fake.write_bytes(b"MZ not an OLE file")
    with pytest.raises(ContentSourceError, match="not an MSI"):
        read_msi(fake)
