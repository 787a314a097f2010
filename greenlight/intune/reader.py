"""Read and verify .intunewin files and encrypted content blobs (streaming; memory stays at one chunk).

Every check of the format reference (§1.4) is applied; the first one that fails raises IntegrityError (with a
named `reason`) or IntunewinFormatError. Plaintext is written to `out` as it is verified, so a caller must discard
`out` when an error is raised (the MAC is only known to match at the end).
"""

from __future__ import annotations

import hashlib
import hmac
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from greenlight.intune import detection_xml
from greenlight.intune.crypto import HEADER_SIZE, EncryptionInfo, encrypted_size
from greenlight.intune.detection_xml import ApplicationInfo
from greenlight.intune.errors import IntegrityError, IntunewinFormatError

CONTENTS_PREFIX = "IntuneWinPackage/Contents/"
DETECTION_PATH = "IntuneWinPackage/Metadata/Detection.xml"
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class VerifiedContent:
    plaintext_size: int
    encrypted_size: int
    plaintext_sha256: bytes


class _Rechunker:
    """Turns an iterable of arbitrary byte chunks into: first `n` bytes, then the rest."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._iter = iter(chunks)
        self._pending = b""

    def take(self, n: int) -> bytes:
        parts, have = [self._pending], len(self._pending)
        while have < n:
            chunk = next(self._iter, None)
            if chunk is None:
                break
            parts.append(chunk)
            have += len(chunk)
        joined = b"".join(parts)
        self._pending = joined[n:]
        return joined[:n]

    def rest(self) -> Iterator[bytes]:
        if self._pending:
            yield self._pending
            self._pending = b""
        yield from self._iter


def verify_blob(
    chunks: Iterable[bytes],
    info: EncryptionInfo,
    expected_plaintext_size: int | None = None,
    out: BinaryIO | None = None,
) -> VerifiedContent:
    """Verify mac ‖ iv ‖ ciphertext against `info` (and the size, when given); stream the plaintext to `out`."""
    stream = _Rechunker(chunks)
    header = stream.take(HEADER_SIZE)
    if len(header) < HEADER_SIZE:
        raise IntegrityError(IntegrityError.SIZE, f"blob is only {len(header)} bytes, shorter than its header")
    if not hmac.compare_digest(header[:32], info.mac):
        raise IntegrityError(IntegrityError.HEADER, "the blob's first 32 bytes are not the Mac of the encryption info")
    if header[32:] != info.iv:
        raise IntegrityError(IntegrityError.HEADER, "the blob's bytes 32..48 are not the InitializationVector")
    mac = hmac.new(info.mac_key, info.iv, "sha256")
    digest = hashlib.sha256()
    decryptor = Cipher(algorithms.AES(info.encryption_key), modes.CBC(info.iv)).decryptor()
    held = b""  # the last plaintext block carries the padding; hold it back until the end
    ciphertext_length = 0
    plaintext_length = 0
    for chunk in stream.rest():
        ciphertext_length += len(chunk)
        mac.update(chunk)
        plain = held + decryptor.update(chunk)
        keep = 16 if len(plain) >= 16 else len(plain)
        ready, held = plain[: len(plain) - keep], plain[len(plain) - keep :]
        if ready:
            digest.update(ready)
            plaintext_length += len(ready)
            if out is not None:
                out.write(ready)
    if ciphertext_length == 0 or ciphertext_length % 16:
        raise IntegrityError(
            IntegrityError.SIZE, f"ciphertext length {ciphertext_length} is not a positive multiple of 16"
        )
    if not hmac.compare_digest(mac.digest(), info.mac):
        raise IntegrityError(IntegrityError.MAC, "HMAC-SHA256 over IV and ciphertext does not match Mac")
    held += decryptor.finalize()
    pad = held[-1] if held else 0
    if not 1 <= pad <= 16 or held[-pad:] != bytes([pad]) * pad:
        raise IntegrityError(IntegrityError.PADDING, "the last block does not end in valid PKCS#7 padding")
    last = held[:-pad]
    digest.update(last)
    plaintext_length += len(last)
    if out is not None:
        out.write(last)
    if expected_plaintext_size is not None and plaintext_length != expected_plaintext_size:
        raise IntegrityError(
            IntegrityError.SIZE, f"plaintext is {plaintext_length} bytes, expected {expected_plaintext_size}"
        )
    if ciphertext_length + HEADER_SIZE != encrypted_size(plaintext_length):
        raise IntegrityError(IntegrityError.SIZE, "blob length does not match the plaintext length")
    if not hmac.compare_digest(digest.digest(), info.file_digest):
        raise IntegrityError(IntegrityError.DIGEST, "SHA-256 of the decrypted inner zip does not match FileDigest")
    return VerifiedContent(plaintext_length, ciphertext_length + HEADER_SIZE, digest.digest())


def read_chunks(source: BinaryIO, chunk_size: int = _CHUNK) -> Iterator[bytes]:
    while chunk := source.read(chunk_size):
        yield chunk


@dataclass(frozen=True)
class UnpackedPackage:
    application: ApplicationInfo
    content: VerifiedContent
    inner_zip: Path


def read_detection(package: Path) -> tuple[ApplicationInfo, str]:
    """Check the outer layout and parse Detection.xml; returns it and the encrypted entry's name."""
    try:
        outer = zipfile.ZipFile(package)
    except (zipfile.BadZipFile, OSError) as error:
        raise IntunewinFormatError(f"{package.name} is not a zip archive: {error}") from None
    with outer:
        names = outer.namelist()
        if DETECTION_PATH not in names:
            raise IntunewinFormatError(f"{package.name} has no {DETECTION_PATH}")
        application = detection_xml.parse(outer.read(DETECTION_PATH))
        contents = CONTENTS_PREFIX + application.file_name
        if sorted(names) != sorted([contents, DETECTION_PATH]):
            raise IntunewinFormatError(
                f"{package.name} must hold exactly {contents} and {DETECTION_PATH}; found {sorted(names)}"
            )
    return application, contents


def unpack(package: Path, inner_zip_out: Path) -> UnpackedPackage:
    """Verify a .intunewin and write its decrypted inner zip; the output is removed if any check fails."""
    application, contents = read_detection(package)
    try:
        with zipfile.ZipFile(package) as outer, outer.open(contents) as blob, open(inner_zip_out, "wb") as out:
            verified = verify_blob(read_chunks(blob), application.encryption, application.unencrypted_content_size, out)
        if not zipfile.is_zipfile(inner_zip_out):
            raise IntunewinFormatError("the decrypted content is not a zip archive")
    except zipfile.BadZipFile as error:  # the outer zip's own CRC-32 caught a corrupted entry
        inner_zip_out.unlink(missing_ok=True)
        raise IntegrityError(IntegrityError.OUTER_CRC, str(error)) from None
    except BaseException:
        inner_zip_out.unlink(missing_ok=True)
        raise
    return UnpackedPackage(application, verified, inner_zip_out)
