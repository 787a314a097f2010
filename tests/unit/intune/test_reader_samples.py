"""Our reader against the two real .intunewin files made by Microsoft's IntuneWinAppUtil."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import zipfile
from pathlib import Path

import pytest

from greenlight.intune import detection_xml
from greenlight.intune.crypto import EncryptionInfo
from greenlight.intune.errors import IntegrityError, IntunewinFormatError
from greenlight.intune.reader import DETECTION_PATH, read_chunks, read_detection, unpack, verify_blob

from .conftest import SAMPLES


@pytest.mark.parametrize("sample", SAMPLES)
def test_reader_decrypts_sample_to_expected_inner_zip_and_values(
    sample: str, intune_data: Path, expected_values: dict, tmp_path: Path
) -> None:
    expected = expected_values[sample]
    result = unpack(intune_data / sample, tmp_path / "inner.zip")

    inner = (tmp_path / "inner.zip").read_bytes()
    assert hashlib.sha256(inner).hexdigest() == expected["plaintext_inner_zip_sha256"]
    assert len(inner) == expected["unencrypted_content_size"] == result.content.plaintext_size
    assert result.content.encrypted_size == expected["encrypted_blob_size"]
    app = result.application
    assert (app.name, app.setup_file, app.file_name, app.tool_version) == (
        expected["name"],
        expected["setup_file"],
        expected["file_name"],
        expected["tool_version"],
    )
    xml_to_graph = {
        "EncryptionKey": "encryptionKey",
        "MacKey": "macKey",
        "InitializationVector": "initializationVector",
        "Mac": "mac",
        "ProfileIdentifier": "profileIdentifier",
        "FileDigest": "fileDigest",
        "FileDigestAlgorithm": "fileDigestAlgorithm",
    }
    assert app.encryption.to_graph() == {xml_to_graph[k]: v for k, v in expected["encryption_info"].items()}
    assert app.msi_info == expected["msi_info"]
    with zipfile.ZipFile(tmp_path / "inner.zip") as archive:
        entries = [
            {
                "name": i.filename,
                "size": i.file_size,
                "method": i.compress_type,
                "crc32": f"{i.CRC:08x}",
                "sha256": hashlib.sha256(archive.read(i)).hexdigest(),
            }
            for i in archive.infolist()
        ]
    assert entries == expected["inner_zip_entries"]


def test_small_sample_inner_zip_equals_the_upstream_decrypted_zip(intune_data: Path, tmp_path: Path) -> None:
    unpack(intune_data / SAMPLES[0], tmp_path / "inner.zip")
    assert (tmp_path / "inner.zip").read_bytes() == (
        intune_data / "volodymyrsmirnov_IntuneWin__sample.zip"
    ).read_bytes()


@pytest.mark.parametrize("sample", SAMPLES)
def test_detection_xml_renders_byte_identical_to_microsofts(sample: str, intune_data: Path) -> None:
    with zipfile.ZipFile(intune_data / sample) as outer:
        original = outer.read(DETECTION_PATH)
    assert detection_xml.render(detection_xml.parse(original)) == original


def _blob(intune_data: Path, sample: str) -> tuple[bytes, EncryptionInfo, int]:
    app, contents = read_detection(intune_data / sample)
    with zipfile.ZipFile(intune_data / sample) as outer:
        return outer.read(contents), app.encryption, app.unencrypted_content_size


def test_flipped_ciphertext_byte_is_a_mac_mismatch(intune_data: Path) -> None:
    blob, info, size = _blob(intune_data, SAMPLES[0])
    tampered = bytearray(blob)
    tampered[100] ^= 0x01
    with pytest.raises(IntegrityError) as caught:
        verify_blob([bytes(tampered)], info, size)
    assert caught.value.reason == IntegrityError.MAC


def test_wrong_file_digest_is_a_digest_mismatch(intune_data: Path) -> None:
    blob, info, size = _blob(intune_data, SAMPLES[0])
    graph = info.to_graph() | {"fileDigest": base64.b64encode(b"\x01" * 32).decode()}
    with pytest.raises(IntegrityError) as caught:
        verify_blob(read_chunks(io.BytesIO(blob), 1000), EncryptionInfo.from_graph(graph), size)
    assert caught.value.reason == IntegrityError.DIGEST


def test_truncated_blob_fails_and_wrong_size_is_named(intune_data: Path) -> None:
    blob, info, size = _blob(intune_data, SAMPLES[0])
    with pytest.raises(IntegrityError) as caught:
        verify_blob([blob[:-16]], info, size)
    assert caught.value.reason == IntegrityError.MAC
    with pytest.raises(IntegrityError) as caught:
        verify_blob([blob], info, size + 1)
    assert caught.value.reason == IntegrityError.SIZE


def test_header_that_is_not_the_mac_is_rejected(intune_data: Path) -> None:
    blob, info, size = _blob(intune_data, SAMPLES[0])
    with pytest.raises(IntegrityError) as caught:
        verify_blob([b"\0" * 32 + blob[32:]], info, size)
    assert caught.value.reason == IntegrityError.HEADER


def test_outer_zip_with_an_extra_entry_is_a_layout_error(intune_data: Path, tmp_path: Path) -> None:
    target = tmp_path / "extra.intunewin"
    shutil.copy(intune_data / SAMPLES[0], target)
    with zipfile.ZipFile(target, "a") as outer:
        outer.writestr("IntuneWinPackage/Contents/other.bin", b"x")
    with pytest.raises(IntunewinFormatError, match="exactly"):
        unpack(target, tmp_path / "inner.zip")
    assert not (tmp_path / "inner.zip").exists()


def test_not_a_zip_is_a_layout_error(tmp_path: Path) -> None:
    target = tmp_path / "bad.intunewin"
    target.write_bytes(b"not a zip")
    with pytest.raises(IntunewinFormatError, match="not a zip"):
        read_detection(target)
