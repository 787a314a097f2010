"""Content we build: our reader accepts it, and an independent check with plain `cryptography` calls agrees."""

from __future__ import annotations

import hashlib
import hmac
import io
import zipfile
import zlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from greenlight.intune.builder import ContentBuild, member_from_stream, members_from_folder, write_blob
from greenlight.intune.crypto import ContentKeys, StreamEncryptor, encrypted_size
from greenlight.intune.errors import ContentSourceError
from greenlight.intune.reader import verify_blob
from greenlight.intune.zipstream import StoredZip


def _independent_decrypt(blob: bytes, info_graph: dict[str, str]) -> bytes:
    """The format reference's algorithm, written out with nothing from greenlight."""
    import base64

    key, mac_key = base64.b64decode(info_graph["encryptionKey"]), base64.b64decode(info_graph["macKey"])
    iv, mac = base64.b64decode(info_graph["initializationVector"]), base64.b64decode(info_graph["mac"])
    assert blob[:32] == mac and blob[32:48] == iv
    assert hmac.compare_digest(hmac.new(mac_key, blob[32:], hashlib.sha256).digest(), mac)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(blob[48:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    plaintext = unpadder.update(padded) + unpadder.finalize()
    assert hashlib.sha256(plaintext).digest() == base64.b64decode(info_graph["fileDigest"])
    assert len(blob) == 48 + 16 * (len(plaintext) // 16 + 1)
    return plaintext


@pytest.fixture
def setup_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "setup"
    (folder / "nested dir").mkdir(parents=True)
    (folder / "Setup.exe").write_bytes(bytes(range(256)) * 4099)
    (folder / "nested dir" / "config ü.ini").write_text("[x]\nsilent=1\n")
    (folder / "empty.txt").write_bytes(b"")
    return folder


@pytest.mark.parametrize("parallel", [True, False])
def test_folder_content_passes_our_reader_and_an_independent_check(setup_folder: Path, parallel: bool) -> None:
    build = ContentBuild(StoredZip(members_from_folder(setup_folder), chunk_size=4096), parallel=parallel)
    sink = io.BytesIO()
    info = write_blob(build, sink)
    blob = sink.getvalue()

    assert len(blob) == build.encrypted_size == encrypted_size(build.unencrypted_size)
    plain_out = io.BytesIO()
    verified = verify_blob(
        [blob[i : i + 777] for i in range(0, len(blob), 777)], info, build.unencrypted_size, plain_out
    )
    independent = _independent_decrypt(blob, info.to_graph())
    assert plain_out.getvalue() == independent
    assert verified.plaintext_size == len(independent) == build.unencrypted_size

    with zipfile.ZipFile(io.BytesIO(independent)) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == ["Setup.exe", "empty.txt", "nested dir/config ü.ini"]
        assert archive.read("Setup.exe") == (setup_folder / "Setup.exe").read_bytes()
        assert all(i.compress_type == zipfile.ZIP_STORED and i.flag_bits & 0x800 for i in archive.infolist())


def test_stream_member_with_known_crc_gets_plain_local_header(tmp_path: Path) -> None:
    data = b"installer bytes " * 10_000
    member = member_from_stream("app.msi", len(data), lambda: io.BytesIO(data), crc32=zlib.crc32(data))
    build = ContentBuild(StoredZip([member]))
    sink = io.BytesIO()
    info = write_blob(build, sink)
    plaintext = _independent_decrypt(sink.getvalue(), info.to_graph())
    with zipfile.ZipFile(io.BytesIO(plaintext)) as archive:
        (entry,) = archive.infolist()
        assert entry.flag_bits & 0x08 == 0  # no data descriptor: CRC and sizes in the local header
        assert archive.read(entry) == data


def test_same_keys_reproduce_the_same_blob(setup_folder: Path) -> None:
    keys = ContentKeys.generate()
    first, second = io.BytesIO(), io.BytesIO()
    write_blob(ContentBuild.from_folder(setup_folder, keys), first)
    write_blob(ContentBuild.from_folder(setup_folder, keys), second)
    assert first.getvalue() == second.getvalue()


def test_source_shorter_than_declared_is_a_named_error() -> None:
    member = member_from_stream("app.exe", 100, lambda: io.BytesIO(b"x" * 50))
    build = ContentBuild(StoredZip([member]))
    with pytest.raises(ContentSourceError, match="ended 50 bytes early"):
        write_blob(build, io.BytesIO())


def test_source_not_matching_declared_crc_is_a_named_error() -> None:
    member = member_from_stream("app.exe", 3, lambda: io.BytesIO(b"abc"), crc32=1234)
    with pytest.raises(ContentSourceError, match="CRC-32"):
        write_blob(ContentBuild(StoredZip([member])), io.BytesIO())


def test_member_names_that_escape_the_folder_are_rejected() -> None:
    with pytest.raises(ContentSourceError):
        member_from_stream("../evil.exe", 1, lambda: io.BytesIO(b"x"))


def test_keys_never_appear_in_repr() -> None:
    keys = ContentKeys.generate()
    assert keys.encryption_key.hex() not in repr(keys) and "fingerprint" in repr(keys)


class _ReadOnly(io.RawIOBase):
    """A stream with read() only (like some network streams): the reader copies instead of reading into."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        return self._inner.read(min(n, 1000))  # short reads, as sockets give


def _members(data: bytes) -> list:
    return [
        member_from_stream("a.bin", len(data), lambda: io.BytesIO(data)),
        member_from_stream("b.bin", len(data), lambda: _ReadOnly(data), crc32=zlib.crc32(data)),
        member_from_stream("empty.txt", 0, lambda: io.BytesIO(b"")),
    ]


def test_the_reader_gives_the_same_archive_as_the_stream() -> None:
    data = bytes(range(256)) * 1000
    streamed = b"".join(StoredZip(_members(data), chunk_size=3000).stream())
    reader = StoredZip(_members(data), chunk_size=3000).reader()
    parts, buffer = [], bytearray(4096)
    while count := reader.readinto(buffer):
        parts.append(bytes(buffer[:count]))
    assert b"".join(parts) == streamed
    assert all(len(part) == 4096 for part in parts[:-1])  # full buffers until the end
    with zipfile.ZipFile(io.BytesIO(streamed)) as archive:
        assert archive.testzip() is None and archive.read("b.bin") == data


@pytest.mark.parametrize("parallel", [True, False])
def test_chunked_encryption_equals_piecewise_update(parallel: bool) -> None:
    keys = ContentKeys.generate()
    plaintext = bytes(range(256)) * 777
    source = io.BytesIO(plaintext)
    with StreamEncryptor(keys, parallel=parallel) as chunked:
        blob = b"".join(bytes(v) for v in chunked.encrypt_chunks(source.readinto, 4096, len(plaintext)))
    with StreamEncryptor(keys, parallel=not parallel) as piecewise:
        pieces = [piecewise.update(plaintext[i : i + 1000]) for i in range(0, len(plaintext), 1000)]
        tail, info = piecewise.finalize()
    assert blob == b"".join(pieces) + tail
    assert chunked.info == info
    assert _independent_decrypt(info.header + blob, info.to_graph()) == plaintext
