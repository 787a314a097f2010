"""The inner zip's digest computed around a streamed installer (what staging does while it downloads) is the
digest of the archive packaging builds, and packaging that takes it produces the very blob it would hash itself."""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib

import pytest

from greenlight.intune.builder import ContentBuild, member_from_stream, write_blob
from greenlight.intune.crypto import ContentKeys, StreamEncryptor
from greenlight.intune.errors import ContentSourceError
from greenlight.intune.reader import verify_blob
from greenlight.intune.zipstream import StoredZip

INSTALLER = bytes(range(256)) * 3001 + b"tail"
SCRIPTS = {"install.ps1": b"Start-Process setup.exe -Wait\r\n", "uninstall.ps1": b"exit 0\r\n"}


def _archive(installer: bytes = INSTALLER, crc32: int | None = None, framed: bool = True) -> StoredZip:
    members = [
        member_from_stream("setup.exe", len(installer), lambda: io.BytesIO(installer), crc32=crc32, framed=framed)
    ]
    members += [member_from_stream(n, len(d), lambda d=d: io.BytesIO(d)) for n, d in sorted(SCRIPTS.items())]
    return StoredZip(members, chunk_size=7000)


def test_head_installer_tail_is_the_archive_packaging_streams() -> None:
    crc = zlib.crc32(INSTALLER)
    streamed = b"".join(_archive(crc32=crc).stream())
    # Staging knows neither the CRC nor the data when it hashes the head.
    planned_before_download = _archive(installer=b"\0" * len(INSTALLER))
    assert planned_before_download.head() + INSTALLER + planned_before_download.tail(crc) == streamed
    with zipfile.ZipFile(io.BytesIO(streamed)) as archive:
        assert archive.testzip() is None
        entry = archive.getinfo("setup.exe")
        assert entry.flag_bits & 0x08 and entry.CRC == crc  # framed: the CRC follows in a data descriptor
        assert archive.read("setup.exe") == INSTALLER and archive.read("uninstall.ps1") == SCRIPTS["uninstall.ps1"]


def test_the_frame_fingerprint_changes_with_what_surrounds_the_installer() -> None:
    crc = zlib.crc32(INSTALLER)
    base = _archive(crc32=crc).frame_sha256(crc)
    assert _archive(crc32=crc).frame_sha256(crc) == base
    assert _archive(crc32=crc).frame_sha256(crc ^ 1) != base
    longer = _archive(installer=INSTALLER + b"x")
    assert longer.frame_sha256(crc) != base


def test_an_unframed_first_member_has_no_head_independent_of_its_crc() -> None:
    with pytest.raises(ContentSourceError, match="frame"):
        _archive(crc32=zlib.crc32(INSTALLER), framed=False).head()


@pytest.mark.parametrize("parallel", [True, False])
def test_a_known_digest_gives_the_same_blob_and_info_as_hashing(parallel: bool) -> None:
    crc = zlib.crc32(INSTALLER)
    keys = ContentKeys.generate()
    plan = _archive(installer=b"\0" * len(INSTALLER))
    digest = hashlib.sha256(plan.head() + INSTALLER + plan.tail(crc)).digest()

    hashed, taken = io.BytesIO(), io.BytesIO()
    info_hashed = write_blob(ContentBuild(_archive(crc32=crc), keys, parallel=parallel), hashed)
    info_taken = write_blob(ContentBuild(_archive(crc32=crc), keys, parallel=parallel, plaintext_sha256=digest), taken)

    assert taken.getvalue() == hashed.getvalue()
    assert info_taken == info_hashed and info_taken.file_digest == digest
    plaintext = io.BytesIO()
    verify_blob([taken.getvalue()], info_taken, len(b"".join(_archive(crc32=crc).stream())), plaintext)


def test_a_known_digest_must_be_a_sha256() -> None:
    with pytest.raises(ValueError, match="32-byte"):
        StreamEncryptor(ContentKeys.generate(), plaintext_sha256=b"short")


def test_a_staged_installer_that_changed_since_staging_is_refused_by_its_crc() -> None:
    crc = zlib.crc32(INSTALLER)
    altered = bytearray(INSTALLER)
    altered[1000] ^= 0xFF
    build = ContentBuild(_archive(installer=bytes(altered), crc32=crc), plaintext_sha256=b"\1" * 32)
    with pytest.raises(ContentSourceError, match="CRC-32"):
        write_blob(build, io.BytesIO())
