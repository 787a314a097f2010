"""Intune "ProfileVersion1" content encryption: AES-256-CBC/PKCS#7 + HMAC-SHA256 over IV ‖ ciphertext.

blob = mac(32) ‖ iv(16) ‖ ciphertext; FileDigest = SHA-256 of the plaintext (the inner zip).
The encryptor streams: ciphertext comes out as plaintext goes in, and the MAC (the blob's first 32 bytes) is
known only at the end — callers put the 48-byte header in place afterwards (file: patch offset 0; block blob:
upload it last, list it first).

Speed: AES-CBC encryption is serial, so it runs on the calling thread while one helper thread keeps the two
SHA-256 passes (plaintext digest, HMAC over ciphertext) going in parallel; OpenSSL and hashlib release the GIL.
The queue between them is bounded, so memory stays at a few chunks whatever the content size.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import queue
import secrets
import threading
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PROFILE = "ProfileVersion1"
DIGEST_ALGORITHM = "SHA256"
HEADER_SIZE = 48
_QUEUE_DEPTH = 8


def encrypted_size(plaintext_size: int) -> int:
    """Size of mac ‖ iv ‖ AES-CBC(PKCS#7(plaintext)): padding always adds 1..16 bytes."""
    return HEADER_SIZE + 16 * (plaintext_size // 16 + 1)


@dataclass(frozen=True, repr=False)
class ContentKeys:
    """The random secrets of one content file. Reusing them for the same plaintext reproduces the same blob,
    which is what lets an interrupted upload continue with the blocks already sent."""

    encryption_key: bytes
    mac_key: bytes
    iv: bytes

    def __post_init__(self) -> None:
        if len(self.encryption_key) != 32 or len(self.mac_key) != 32 or len(self.iv) != 16:
            raise ValueError("ContentKeys need a 32-byte key, a 32-byte MAC key and a 16-byte IV")

    def __repr__(self) -> str:  # never print key material
        return f"ContentKeys(fingerprint={self.fingerprint()})"

    @classmethod
    def generate(cls) -> ContentKeys:
        return cls(secrets.token_bytes(32), secrets.token_bytes(32), secrets.token_bytes(16))

    def fingerprint(self) -> str:
        """A short non-secret id of these keys (used in block ids so blocks of other keys are never reused)."""
        return hashlib.sha256(b"greenlight-keys" + self.encryption_key + self.mac_key + self.iv).hexdigest()[:8]

    def to_json(self) -> dict[str, str]:
        b64 = base64.b64encode
        return {k: b64(v).decode() for k, v in (("k", self.encryption_key), ("m", self.mac_key), ("iv", self.iv))}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> ContentKeys:
        b64d = base64.b64decode
        return cls(b64d(data["k"]), b64d(data["m"]), b64d(data["iv"]))


@dataclass(frozen=True, repr=False)
class EncryptionInfo:
    """What Detection.xml's <EncryptionInfo> and Graph's fileEncryptionInfo carry."""

    encryption_key: bytes
    mac_key: bytes
    iv: bytes
    mac: bytes
    file_digest: bytes
    profile_identifier: str = PROFILE
    file_digest_algorithm: str = DIGEST_ALGORITHM

    def __repr__(self) -> str:
        return f"EncryptionInfo(profile={self.profile_identifier}, digest={self.file_digest.hex()[:16]}…)"

    @property
    def header(self) -> bytes:
        """The blob's first 48 bytes."""
        return self.mac + self.iv

    def to_graph(self) -> dict[str, str]:
        """The camelCase `fileEncryptionInfo` body of the commit call."""
        b64 = lambda value: base64.b64encode(value).decode("ascii")  # noqa: E731
        return {
            "encryptionKey": b64(self.encryption_key),
            "macKey": b64(self.mac_key),
            "initializationVector": b64(self.iv),
            "mac": b64(self.mac),
            "profileIdentifier": self.profile_identifier,
            "fileDigest": b64(self.file_digest),
            "fileDigestAlgorithm": self.file_digest_algorithm,
        }

    @classmethod
    def from_graph(cls, body: dict[str, str]) -> EncryptionInfo:
        """Parse a commit body; raises ValueError naming the bad field."""
        fields = {}
        for name, length in (("encryptionKey", 32), ("macKey", 32), ("initializationVector", 16), ("mac", 32)):
            fields[name] = _b64_field(body, name, length)
        digest = _b64_field(body, "fileDigest", 32)
        if body.get("profileIdentifier") != PROFILE:
            raise ValueError(f"profileIdentifier must be {PROFILE}")
        if body.get("fileDigestAlgorithm") != DIGEST_ALGORITHM:
            raise ValueError(f"fileDigestAlgorithm must be {DIGEST_ALGORITHM}")
        return cls(fields["encryptionKey"], fields["macKey"], fields["initializationVector"], fields["mac"], digest)


def _b64_field(body: dict[str, str], name: str, length: int) -> bytes:
    value = body.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} is required (base64 string)")
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raise ValueError(f"{name} is not valid base64") from None
    if len(raw) != length:
        raise ValueError(f"{name} must be {length} bytes, got {len(raw)}")
    return raw


class _HashWorker(threading.Thread):
    """Runs SHA-256(plaintext) and HMAC(iv ‖ ciphertext) beside the encryption, in stream order."""

    def __init__(self, mac_key: bytes, iv: bytes) -> None:
        super().__init__(name="intune-content-hash", daemon=True)
        self.digest = hashlib.sha256()
        self.mac = hmac.new(mac_key, iv, "sha256")
        self.jobs: queue.Queue[tuple[int, bytes] | None] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self.error: BaseException | None = None

    def run(self) -> None:
        # Keeps draining after an error so a producer blocked on put() is never stuck.
        while (job := self.jobs.get()) is not None:
            if self.error is not None:
                continue
            kind, data = job
            try:
                (self.digest if kind == 0 else self.mac).update(data)
            except BaseException as error:  # noqa: BLE001 - handed to the producer thread, which re-raises it
                self.error = error


class StreamEncryptor:
    """Feed plaintext with `update`, collect the ciphertext it returns, then `finalize` for the tail + info.

    Call `close()` (or use as a context manager) if the stream is abandoned, to stop the helper thread.
    """

    def __init__(self, keys: ContentKeys, *, parallel: bool = True) -> None:
        self.keys = keys
        self._cipher = Cipher(algorithms.AES(keys.encryption_key), modes.CBC(keys.iv)).encryptor()
        self._length = 0
        self._worker = _HashWorker(keys.mac_key, keys.iv)
        self._parallel = parallel
        self._done = False
        if parallel:
            self._worker.start()

    def __enter__(self) -> StreamEncryptor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def plaintext_length(self) -> int:
        return self._length

    def _hash(self, kind: int, data: bytes) -> None:
        if not data:
            return
        if self._parallel:
            if self._worker.error is not None:
                raise self._worker.error
            self._worker.jobs.put((kind, data))
        else:
            (self._worker.digest if kind == 0 else self._worker.mac).update(data)

    def update(self, plaintext: bytes) -> bytes:
        if self._done:
            raise RuntimeError("encryptor already finalized")
        self._length += len(plaintext)
        self._hash(0, plaintext)
        ciphertext = self._cipher.update(plaintext)
        self._hash(1, ciphertext)
        return ciphertext

    def finalize(self) -> tuple[bytes, EncryptionInfo]:
        """Pad (PKCS#7), return the last ciphertext bytes and the complete EncryptionInfo."""
        pad = 16 - self._length % 16
        tail = self._cipher.update(bytes([pad]) * pad) + self._cipher.finalize()
        self._hash(1, tail)
        self.close()
        if self._worker.error is not None:
            raise self._worker.error
        info = EncryptionInfo(
            self.keys.encryption_key,
            self.keys.mac_key,
            self.keys.iv,
            self._worker.mac.digest(),
            self._worker.digest.digest(),
        )
        return tail, info

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        if self._parallel:
            self._worker.jobs.put(None)
            self._worker.join()
