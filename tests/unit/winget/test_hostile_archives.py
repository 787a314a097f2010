"""Hostile MSIX containers: zip bombs, ZIP64 tricks, path traversal, gaps, duplicates — refused, never a crash."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
import zlib

import pytest

from greenlight.winget import msix
from greenlight.winget.errors import HostileInput, MalformedPackage
from greenlight.winget.zipview import ZipView

CAP = 64 * 1024 * 1024


def _zip(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


def _patch_sizes(data: bytes, usize: int) -> bytes:
    """Rewrite the first entry's declared uncompressed size in both headers (CRC left alone)."""
    patched = bytearray(data)
    struct.pack_into("<I", patched, 22, usize)  # local header
    cd = patched.find(b"PK\x01\x02")
    struct.pack_into("<I", patched, cd + 24, usize)
    return bytes(patched)


def test_a_deflate_bomb_that_lies_about_its_size_is_stopped_while_inflating() -> None:
    data = _patch_sizes(_zip([("Public/index.db", b"\0" * (4 * 1024 * 1024))]), 1000)
    view = ZipView(data, max_total_uncompressed=CAP)
    with pytest.raises(HostileInput, match="beyond its declared size"):
        b"".join(view.iter_content(view.entries[0]))


def test_an_impossible_compression_ratio_is_refused_before_inflating() -> None:
    data = _patch_sizes(_zip([("a.bin", b"\0" * 100_000)]), 3_000_000_000)
    with pytest.raises(HostileInput, match="compression ratio"):
        ZipView(data, max_total_uncompressed=1 << 40)


def test_total_expanded_size_is_capped() -> None:
    data = _zip([(f"f{i}.bin", b"\0" * 200_000) for i in range(10)])
    with pytest.raises(HostileInput, match="zip bomb guard"):
        ZipView(data, max_total_uncompressed=1_000_000)


@pytest.mark.parametrize("name", ["../evil.db", "Public/../../evil", "/etc/passwd", "C:/Windows/evil.dll"])
def test_path_traversal_names_are_refused(name: str) -> None:
    with pytest.raises(HostileInput, match="path traversal"):
        ZipView(_zip([(name, b"x")]), max_total_uncompressed=CAP)


@pytest.mark.parametrize("second", ["Public/index.db", "public/INDEX.db"])
def test_duplicate_names_are_refused(second: str) -> None:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns about the exact duplicate we are making on purpose
        archive.writestr("Public/index.db", b"one")
        archive.writestr(second, b"two")
    with pytest.raises(MalformedPackage, match="duplicate"):
        ZipView(buffer.getvalue(), max_total_uncompressed=CAP)


def test_bytes_between_records_are_refused() -> None:
    data = _zip([("a", b"one"), ("b", b"two")])
    second = data.find(b"PK\x03\x04", 4)
    smuggled = data[:second] + b"HIDDEN" + data[second:]
    # Shift the second entry's offset and the directory offset so only the gap is wrong.
    patched = bytearray(smuggled)
    cd = patched.find(b"PK\x01\x02")
    second_cd = patched.find(b"PK\x01\x02", cd + 4)
    struct.pack_into("<I", patched, second_cd + 42, second + 6)
    eocd = patched.rfind(b"PK\x05\x06")
    struct.pack_into("<I", patched, eocd + 16, struct.unpack_from("<I", patched, eocd + 16)[0] + 6)
    with pytest.raises(MalformedPackage, match="gap or overlap"):
        ZipView(bytes(patched), max_total_uncompressed=CAP)


def test_zip64_record_disagreeing_with_the_classic_directory_is_refused() -> None:
    data = _zip([("a", b"one")])
    eocd = data.rfind(b"PK\x05\x06")
    _, _, _, _, _, cd_size, cd_offset, _ = struct.unpack_from("<4sHHHHIIH", data, eocd)
    record = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 5, 5, cd_size, cd_offset)  # 5 entries?
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, eocd, 1)
    forged = data[:eocd] + record + locator + data[eocd:]
    with pytest.raises(MalformedPackage, match="disagree"):
        ZipView(forged, max_total_uncompressed=CAP)


def test_zip64_sentinels_without_a_zip64_record_are_refused() -> None:
    data = bytearray(_zip([("a", b"one")]))
    eocd = data.rfind(b"PK\x05\x06")
    struct.pack_into("<I", data, eocd + 16, 0xFFFFFFFF)
    with pytest.raises(MalformedPackage, match="ZIP64"):
        ZipView(bytes(data), max_total_uncompressed=CAP)


@pytest.mark.parametrize(
    "data",
    [b"", b"not a zip at all", b"PK\x05\x06" + b"\0" * 18 + b"trailing", _zip([("a", b"x")]) + b"junk"],
)
def test_garbage_is_a_malformed_package(data: bytes) -> None:
    with pytest.raises(MalformedPackage):
        ZipView(data, max_total_uncompressed=CAP)


def test_unsupported_compression_and_encryption_are_refused() -> None:
    data = bytearray(_zip([("a", b"hello")], method=zipfile.ZIP_STORED))
    cd = data.find(b"PK\x01\x02")
    struct.pack_into("<H", data, cd + 10, 12)  # bzip2
    with pytest.raises(MalformedPackage, match="compression method 12"):
        ZipView(bytes(data), max_total_uncompressed=CAP)


def test_crc_mismatch_is_detected_on_read() -> None:
    data = bytearray(_zip([("a", b"hello world")], method=zipfile.ZIP_STORED))
    data[data.find(b"hello")] = ord("j")
    view = ZipView(bytes(data), max_total_uncompressed=CAP)
    with pytest.raises(MalformedPackage, match="CRC-32"):
        view.read("a", 100)


def test_an_oversized_source_package_is_refused_up_front(monkeypatch) -> None:
    monkeypatch.setattr(msix, "MAX_MSIX", 1000)
    with pytest.raises(MalformedPackage, match="limit"):
        msix.verify_msix(b"\0" * 1001, None)


def test_a_directory_entry_added_to_a_signed_package_breaks_its_digests(built, sandbox_policy) -> None:
    from greenlight.winget.errors import AppxDigestMismatch
    from sandbox.winget_cdn.msix_writer import block_map, build_msix

    payload = [("Public/", b""), *built.payload]
    rezipped = build_msix(payload, lambda _blob: built.p7x, blockmap_override=block_map(built.payload))
    with pytest.raises(AppxDigestMismatch):
        msix.verify_msix(rezipped, sandbox_policy)


def test_a_validly_signed_package_with_a_directory_entry_is_refused_on_layout(pki, sandbox_policy, built) -> None:
    import datetime as dt

    from sandbox.winget_cdn.msix_writer import block_map, build_msix

    payload = [("Public/", b""), *built.payload]
    signed = build_msix(
        payload,
        lambda blob: pki.sign_appx(blob, dt.datetime.now(dt.UTC)),
        blockmap_override=block_map(built.payload),
    )
    with pytest.raises(MalformedPackage, match="directory entry 'Public/'"):
        msix.verify_msix(signed, sandbox_policy)


def test_a_truncated_deflate_stream_is_refused() -> None:
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = raw.compress(b"A" * 5000) + raw.flush()
    data = bytearray(_zip([("a", b"A" * 5000)]))
    start = data.find(body[:8])
    assert start > 0
    data[start + 2 : start + 6] = b"\xff\xff\xff\xff"
    view = ZipView(bytes(data), max_total_uncompressed=CAP)
    with pytest.raises(MalformedPackage):
        view.read("a", 10_000)
