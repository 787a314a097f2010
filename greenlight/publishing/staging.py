"""The installer in blob staging: a resumable, hashed download, a read-back stream, and the upload checkpoint.

The staged blob is committed in parts (every `commit_every` blocks) so that after a crash its committed prefix
survives. On resume the prefix is read back and re-hashed (SHA-256 and CRC-32 cannot be resumed from a stored
state we could trust more than the bytes themselves), and only the rest is requested with HTTP Range. The final
commit carries the installer's size, SHA-256 and CRC-32 in blob metadata, so a re-run of a finished download
returns at once.

Given the inner zip the installer will be packaged in (`archive_for`, once its size is known), the download also
hashes that whole archive — the bytes before the installer, the installer as it arrives, the bytes after it — so
packaging can take the content digest instead of hashing the plaintext again (`greenlight.intune.pipeline`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import queue
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from azure.storage.blob import BlobClient

from greenlight.intune.crypto import ContentKeys
from greenlight.intune.pipeline import KnownDigest
from greenlight.intune.upload import Checkpoint
from greenlight.intune.zipstream import StoredZip
from greenlight.publishing.errors import InstallerTooLarge
from greenlight.storage.blobs import StagingArea
from greenlight.storage.errors import NotFound
from greenlight.storage.keys import translated
from greenlight.winget.errors import InstallerHashMismatch

BLOCK_SIZE = 8 * 1024 * 1024
COMMIT_EVERY = 4  # blocks per committed part: at most 32 MiB is fetched again after a crash
READ_RANGE = 4 * 1024 * 1024  # one ranged GET of the staged installer while packaging


@dataclass(frozen=True)
class StagedInstaller:
    blob: str
    size: int
    sha256: str
    crc32: int
    resumed_from: int = 0  # bytes already staged when this download started (0 = fresh)
    fetched: int = 0  # bytes this call fetched from the CDN
    content: KnownDigest | None = None  # the inner zip's digest, when its frame was known from the start

    def to_json(self) -> dict[str, Any]:
        data = {"blob": self.blob, "size": self.size, "sha256": self.sha256, "crc32": self.crc32}
        if self.content is not None:
            data.update(content_sha256=self.content.sha256, content_frame=self.content.frame_sha256)
        return data


def known_digest(staged: dict[str, Any]) -> KnownDigest | None:
    """The content digest carried by a staged installer's JSON (or blob metadata), if any."""
    sha, frame = staged.get("content_sha256"), staged.get("content_frame")
    return KnownDigest(sha, frame) if isinstance(sha, str) and isinstance(frame, str) else None


def _block_id(index: int) -> str:
    return base64.b64encode(f"{index:08d}".encode()).decode()


class _Hashes:
    """SHA-256 and CRC-32 of the installer and, once `frame` is called (before the first byte), the SHA-256 of
    the inner zip around it."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.crc = 0
        self.size = 0
        self.archive: StoredZip | None = None
        self.content: hashlib._Hash | None = None

    def frame(self, archive: StoredZip) -> None:
        assert self.size == 0, "the archive's head must be hashed before the installer"
        self.archive = archive
        self.content = hashlib.sha256(archive.head())

    def update(self, data: bytes) -> None:
        self.sha.update(data)
        if self.content is not None:
            self.content.update(data)
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)

    def content_digest(self) -> KnownDigest | None:
        """The inner zip's digest, if it was framed for exactly the size that arrived."""
        if self.archive is None or self.content is None or self.archive.members[0].size != self.size:
            return None
        tail = self.archive.tail(self.crc)
        self.content.update(tail)
        return KnownDigest(self.content.hexdigest(), self.archive.frame_sha256(self.crc))


# Opens the installer from a byte offset: a context manager yielding (chunks, bytes to skip first, total size or
# None), the chunks starting at the offset once the skipped bytes are dropped.
OpenFrom = Callable[[int], Any]


class InstallerStaging:
    def __init__(self, staging: StagingArea, *, block_size: int = BLOCK_SIZE, commit_every: int = COMMIT_EVERY):
        self.staging = staging
        self.block_size = block_size
        self.commit_every = commit_every

    def _committed(self, blob: BlobClient) -> tuple[list[str], dict[str, str]]:
        try:
            with translated(f"read {blob.blob_name}"):
                blocks, _ = blob.get_block_list("committed")
                metadata = blob.get_blob_properties().metadata
        except NotFound:
            return [], {}
        return [b.id for b in blocks], dict(metadata or {})

    def download(
        self,
        name: str,
        open_from: OpenFrom,
        *,
        expected_sha256: str,
        package_id: str,
        max_bytes: int,
        on_progress: Callable[[int, int | None], None] = lambda done, total: None,
        archive_for: Callable[[int], StoredZip] | None = None,
    ) -> StagedInstaller:
        """`archive_for(size)`: the inner zip this installer will be packaged in, to hash it on the way."""
        blob = self.staging.blob(name)
        ids, metadata = self._committed(blob)
        if metadata.get("sha256"):  # a finished download: nothing to do
            size = int(metadata["size"])
            content = known_digest(metadata)
            return StagedInstaller(
                name, size, metadata["sha256"], int(metadata["crc32"]), resumed_from=size, content=content
            )
        run = _Download(blob, ids, self.block_size, self.commit_every, metadata.get("total"))
        if archive_for is not None and run.total is not None:
            run.hashes.frame(archive_for(run.total))
        if ids:  # re-hash what survived the crash, reading it back from storage
            reader = _BlobReader(blob, lambda count: None)
            while chunk := reader.read(READ_RANGE):
                run.hashes.update(chunk)
        resumed_from = run.hashes.size
        everything = run.total is not None and resumed_from >= run.total
        opened = contextlib.nullcontext((iter(()), 0, run.total)) if everything else open_from(resumed_from)
        try:
            with opened as (chunks, skip, total):
                run.total = total
                if archive_for is not None and total is not None and run.hashes.size == 0:
                    run.hashes.frame(archive_for(total))
                for chunk in _skipping(chunks, skip):
                    if run.hashes.size + len(chunk) > max_bytes:
                        raise InstallerTooLarge(package_id, run.hashes.size + len(chunk), max_bytes)
                    run.add(chunk)
                    on_progress(run.hashes.size, total)
                actual = run.hashes.sha.hexdigest()
                if actual != expected_sha256.lower():
                    raise InstallerHashMismatch(
                        link="installer", expected=expected_sha256, actual=actual, package_id=package_id, what=name
                    )
                run.flush(final=True)
        except BaseException:
            run.stager.finish(raise_error=False)  # the first failure is the one to report
            raise
        run.stager.finish()
        size, crc = run.hashes.size, run.hashes.crc
        return StagedInstaller(
            name, size, actual, crc, resumed_from=resumed_from, fetched=size - resumed_from, content=run.content
        )

    def reader(self, name: str, on_read: Callable[[int], None] = lambda n: None) -> io.RawIOBase:
        """A file-like stream of the staged blob (the zip writer reads the installer from it; no temp file)."""
        return _BlobReader(self.staging.blob(name), on_read)

    # ------------------------------------------------------------ the upload checkpoint beside the installer

    def save_checkpoint(self, name: str, checkpoint: Checkpoint) -> None:
        data = {
            "keys": checkpoint.keys.to_json(),
            "app_id": checkpoint.app_id,
            "content_version_id": checkpoint.content_version_id,
            "file_id": checkpoint.file_id,
        }
        with translated(f"save {name}"):
            self.staging.blob(name).upload_blob(json.dumps(data).encode(), overwrite=True)

    def load_checkpoint(self, name: str) -> Checkpoint | None:
        try:
            with translated(f"read {name}"):
                data = json.loads(self.staging.blob(name).download_blob().readall())
        except NotFound:
            return None
        return Checkpoint(
            ContentKeys.from_json(data["keys"]), data.get("app_id"), data.get("content_version_id"), data.get("file_id")
        )

    def delete(self, *names: str) -> None:
        for name in names:
            try:
                with translated(f"delete {name}"):
                    self.staging.blob(name).delete_blob(delete_snapshots="include")
            except NotFound:
                pass


def _skipping(chunks: Iterator[bytes], skip: int) -> Iterator[bytes]:
    """Drop the first `skip` bytes (a server that ignored the Range header sent the whole file)."""
    for chunk in chunks:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        yield chunk[skip:] if skip else chunk
        skip = 0


class _Download:
    """One download into a staged blob: the hashes so far, the block list, the part commits."""

    def __init__(self, blob: BlobClient, ids: list[str], block_size: int, commit_every: int, total: str | None):
        self.blob = blob
        self.ids = ids
        self.block_size = block_size
        self.commit_every = commit_every
        self.total: int | None = int(total) if total else None
        self.hashes = _Hashes()
        self.content: KnownDigest | None = None
        self.buffer = bytearray()
        self.stager = _Stager()

    def add(self, chunk: bytes) -> None:
        self.hashes.update(chunk)
        self.buffer += chunk
        if len(self.buffer) >= self.block_size:
            self.flush(final=False)

    def flush(self, final: bool) -> None:
        name = self.blob.blob_name
        if self.buffer:
            block, data = _block_id(len(self.ids)), bytes(self.buffer)
            self.ids.append(block)
            self.buffer.clear()
            self.stager.submit(f"stage block of {name}", lambda: self.blob.stage_block(block, data))
        if final or len(self.ids) % self.commit_every == 0:
            # The final commit carries size and hashes; a part's commit records the installer's total length (when
            # the server said it), so a resume whose committed prefix is everything asks for no range past the end.
            hashes = {
                "size": str(self.hashes.size),
                "sha256": self.hashes.sha.hexdigest(),
                "crc32": str(self.hashes.crc),
            }
            if final:
                self.content = self.hashes.content_digest()
                if self.content is not None:
                    hashes.update(content_sha256=self.content.sha256, content_frame=self.content.frame_sha256)
            part = {"total": str(self.total)} if self.total is not None else None
            listed = list(self.ids)
            metadata = hashes if final else part
            self.stager.submit(f"commit {name}", lambda: self.blob.commit_block_list(listed, metadata=metadata))


class _Stager:
    """Stages blocks and commits in order on one worker thread, so the download never waits for storage
    (at most two blocks queued: memory stays at a few blocks whatever the installer size)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, Callable[[], object]] | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="staging", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue
            what, call = item
            try:
                with translated(what):
                    call()
            except BaseException as error:  # noqa: BLE001 - handed to the producer in submit()/finish()
                self._error = error

    def submit(self, what: str, call: Callable[[], object]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((what, call))

    def finish(self, *, raise_error: bool = True) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and raise_error:
            raise self._error


class _BlobReader(io.RawIOBase):
    """read(n) over ranged GETs of READ_RANGE bytes, one at a time. (The SDK's own downloader starts with a
    32 MiB first GET and keeps chunks of several MiB per worker; explicit ranges keep memory at one range.)"""

    def __init__(self, blob: BlobClient, on_read: Callable[[int], None]) -> None:
        self._blob = blob
        with translated(f"read {blob.blob_name}"):
            self._size = blob.get_blob_properties().size
        self._offset = 0
        self._chunk = memoryview(b"")
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def _next_range(self) -> bytes | None:
        if self._offset >= self._size:
            return None
        length = min(READ_RANGE, self._size - self._offset)
        with translated(f"read {self._blob.blob_name}"):
            data = self._blob.download_blob(offset=self._offset, length=length, max_concurrency=1).readall()
        self._offset += len(data)
        return data

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        wanted = size if size is not None and size >= 0 else None
        got = 0
        while wanted is None or got < wanted:
            if not self._chunk:
                chunk = self._next_range()
                if not chunk:
                    break
                self._chunk = memoryview(chunk)
            take = len(self._chunk) if wanted is None else min(len(self._chunk), wanted - got)
            parts.append(bytes(self._chunk[:take]))
            self._chunk = self._chunk[take:]
            got += take
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self._on_read(len(data))
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
