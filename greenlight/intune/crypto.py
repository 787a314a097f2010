"""Intune "ProfileVersion1" content encryption: AES-256-CBC/PKCS#7 + HMAC-SHA256 over IV ‖ ciphertext.

blob = mac(32) ‖ iv(16) ‖ ciphertext; FileDigest = SHA-256 of the plaintext (the inner zip).
The encryptor streams: ciphertext comes out as plaintext goes in, and the MAC (the blob's first 32 bytes) is
known only at the end — callers put the 48-byte header in place afterwards (file: patch offset 0; block blob:
upload it last, list it first).

Speed: AES-CBC encryption is serial and runs on the calling thread. With two or more CPUs, one helper thread
(the hash lane) runs the two SHA-256 passes (plaintext digest, HMAC over ciphertext) beside it; OpenSSL and
hashlib release the GIL. On one CPU a second thread buys nothing and its hand-offs cost, so everything runs
inline. When the plaintext's digest is already known (the staging step hashed the inner zip while the installer
downloaded), only the HMAC is computed here. `encrypt_chunks` encrypts into a small ring of reused buffers (no
allocation or copy per chunk); the hash lane hands each buffer back when it is hashed, so memory stays at a few
chunks whatever the content size.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import os
import queue
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from greenlight.intune.errors import ContentSourceError

PROFILE = "ProfileVersion1"
DIGEST_ALGORITHM = "SHA256"
HEADER_SIZE = 48
_RING = 3  # chunk buffers in use at once with a hash lane: one being encrypted, the others being hashed


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. `taskset`), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


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


class _HashLane(threading.Thread):
    """SHA-256(plaintext) and HMAC(iv ‖ ciphertext) beside the encryption, in stream order. Every job is
    answered on `done` once hashed: that is what lets the producer reuse (or drop) the job's buffers."""

    def __init__(self, digest: hashlib._Hash | None, mac: hmac.HMAC) -> None:
        super().__init__(name="intune-content-hash", daemon=True)
        self.digest = digest
        self.mac = mac
        self.jobs: queue.SimpleQueue[tuple[memoryview | bytes, memoryview | bytes] | None] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self.error: BaseException | None = None

    def run(self) -> None:
        # Keeps answering after an error so a producer waiting on `done` is never stuck.
        while (job := self.jobs.get()) is not None:
            if self.error is None:
                try:
                    if self.digest is not None:
                        self.digest.update(job[0])
                    self.mac.update(job[1])
                except BaseException as error:  # noqa: BLE001 - handed to the producer thread, which re-raises it
                    self.error = error
            self.done.put(True)


class StreamEncryptor:
    """Encrypt a stream: `encrypt_chunks(readinto)` (buffers reused, the fast path), or `update` per piece of
    plaintext and then `finalize` for the tail + info.

    `parallel`: None picks a hash lane when this process has two or more CPUs. `plaintext_sha256`: the digest
    of the plaintext when it is already known; it becomes FileDigest and the plaintext is not hashed again. Call
    `close()` (or use as a context manager) if the stream is abandoned, to stop the lane.
    """

    def __init__(
        self, keys: ContentKeys, *, parallel: bool | None = None, plaintext_sha256: bytes | None = None
    ) -> None:
        if plaintext_sha256 is not None and len(plaintext_sha256) != 32:
            raise ValueError("plaintext_sha256 must be a 32-byte SHA-256 digest")
        self.keys = keys
        self._cipher = Cipher(algorithms.AES(keys.encryption_key), modes.CBC(keys.iv)).encryptor()
        self._known_digest = plaintext_sha256
        self._digest = hashlib.sha256() if plaintext_sha256 is None else None
        self._mac = hmac.new(keys.mac_key, keys.iv, "sha256")
        self._length = 0
        self._lane = _HashLane(self._digest, self._mac) if _parallel(parallel) else None
        self._outstanding = 0  # jobs handed to the lane and not answered yet
        self._done = False
        self.info: EncryptionInfo | None = None
        if self._lane is not None:
            self._lane.start()

    def __enter__(self) -> StreamEncryptor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def plaintext_length(self) -> int:
        return self._length

    def _hash(self, plaintext: memoryview | bytes, ciphertext: memoryview | bytes, *, keep: int) -> None:
        """Hash both, inline or on the lane; with a lane, return once at most `keep` jobs are outstanding."""
        if self._lane is None:
            if self._digest is not None:
                self._digest.update(plaintext)
            self._mac.update(ciphertext)
            return
        self._lane.jobs.put((plaintext, ciphertext))
        self._outstanding += 1
        self._wait(keep)

    def _wait(self, keep: int) -> None:
        assert self._lane is not None
        while self._outstanding > keep:
            self._lane.done.get()
            self._outstanding -= 1
        if self._lane.error is not None:
            raise self._lane.error

    def update(self, plaintext: bytes) -> bytes:
        if self._done:
            raise RuntimeError("encryptor already finalized")
        self._length += len(plaintext)
        ciphertext = self._cipher.update(plaintext)
        self._hash(plaintext, ciphertext, keep=_RING)  # immutable bytes: the lane may hold them
        return ciphertext

    def encrypt_chunks(
        self, readinto: Callable[[memoryview], int], chunk_size: int, expected_length: int | None = None
    ) -> Iterator[memoryview]:
        """Ciphertext of everything `readinto` fills (it fills its buffer fully until the end), tail included;
        `info` is set before the tail is yielded. Each view is valid until the next one is asked for."""
        if self._done:
            raise RuntimeError("encryptor already finalized")
        depth = 1 if self._lane is None else _RING
        ring = [(memoryview(bytearray(chunk_size)), memoryview(bytearray(chunk_size + 16))) for _ in range(depth)]
        for plain, cipher in itertools.cycle(ring):
            if self._lane is not None:
                self._wait(depth - 1)  # this slot's previous job is hashed (jobs are answered in order)
            count = readinto(plain)
            if not count:
                break
            self._length += count
            produced = self._cipher.update_into(plain[:count], cipher)
            self._hash(plain[:count], cipher[:produced], keep=depth)
            if produced:
                yield cipher[:produced]
        if expected_length is not None and self._length != expected_length:
            raise ContentSourceError("the inner zip came out a different size than planned")
        tail, self.info = self.finalize()
        yield memoryview(tail)

    def finalize(self) -> tuple[bytes, EncryptionInfo]:
        """Pad (PKCS#7), return the last ciphertext bytes and the complete EncryptionInfo."""
        pad = 16 - self._length % 16
        tail = self._cipher.update(bytes([pad]) * pad) + self._cipher.finalize()
        self._hash(b"", tail, keep=0)
        self.close()
        info = EncryptionInfo(
            self.keys.encryption_key,
            self.keys.mac_key,
            self.keys.iv,
            self._mac.digest(),
            self._known_digest if self._digest is None else self._digest.digest(),
        )
        return tail, info

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        if self._lane is not None:
            self._lane.jobs.put(None)
            self._lane.join()


def _parallel(requested: bool | None) -> bool:
    return available_cpus() >= 2 if requested is None else requested
