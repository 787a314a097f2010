"""Build Intune Win32 content in one streaming pass: setup files → STORED inner zip → encrypted blob.

The plan (`ContentBuild`) knows the plaintext and encrypted sizes before the first byte is read, because Graph
wants both when the content file entry is created. `ciphertext()` then yields the blob's bytes after its 48-byte
header; the header (mac ‖ iv) is available from `info` once the stream is exhausted. `ciphertext_views()` yields
the same bytes as views of reused buffers (no allocation or copy per chunk), for consumers that write or copy
each chunk before asking for the next: the file writers and the block uploader.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from greenlight.intune.crypto import HEADER_SIZE, ContentKeys, EncryptionInfo, StreamEncryptor, encrypted_size
from greenlight.intune.errors import ContentSourceError
from greenlight.intune.zipstream import DEFAULT_CHUNK, StoredZip, ZipMember


def members_from_folder(folder: Path) -> list[ZipMember]:
    """Every regular file under `folder`, sorted, with forward-slash paths relative to it (no base directory)."""
    root = folder.resolve()
    if not root.is_dir():
        raise ContentSourceError(f"setup folder {folder} is not a directory")
    members: list[ZipMember] = []
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for file_name in sorted(files):
            path = Path(directory, file_name)
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                raise ContentSourceError(f"{path} links outside the setup folder")
            if not path.is_file():
                continue
            stat = path.stat()
            members.append(
                ZipMember(
                    name=path.relative_to(root).as_posix(),
                    size=stat.st_size,
                    open=_opener(path),
                    modified=dt.datetime.fromtimestamp(stat.st_mtime),
                )
            )
    if not members:
        raise ContentSourceError(f"setup folder {folder} has no files")
    return members


def _opener(path: Path) -> Callable[[], BinaryIO]:
    return lambda: open(path, "rb")  # the zip writer closes it


def member_from_stream(
    name: str,
    size: int,
    open_stream: Callable[[], BinaryIO],
    *,
    crc32: int | None = None,
    modified: dt.datetime | None = None,
    framed: bool = False,
) -> ZipMember:
    """A single installer read from a stream (a staged blob, a download). Give `crc32` when it is already known
    (staging computes it): it is checked, and the zip gets an ordinary local header instead of a data descriptor,
    unless `framed` asks for the descriptor anyway (see `zipstream`: the layout whose digest staging computes).

    `modified` defaults to a fixed date, not "now": the same installer must give the same plaintext on every
    attempt, or a resumed upload would mix blocks of two different encryptions."""
    return ZipMember(name=name, size=size, open=open_stream, crc32=crc32, modified=modified, framed=framed)


class ContentBuild:
    """One encryption of one inner zip. Single use: iterate `ciphertext()` once, then read `info`."""

    def __init__(
        self,
        archive: StoredZip,
        keys: ContentKeys | None = None,
        *,
        parallel: bool | None = None,
        plaintext_sha256: bytes | None = None,
    ) -> None:
        """`parallel`: hash on a second thread (None: when this process has two or more CPUs).
        `plaintext_sha256`: the inner zip's digest when already known (staging computed it), so it is not hashed
        again."""
        self.archive = archive
        self.keys = keys or ContentKeys.generate()
        self._plaintext_sha256 = plaintext_sha256
        self.unencrypted_size = archive.size
        self.encrypted_size = encrypted_size(archive.size)
        self._parallel = parallel
        self._info: EncryptionInfo | None = None
        self._started = False

    @classmethod
    def from_folder(
        cls, folder: Path, keys: ContentKeys | None = None, chunk_size: int = DEFAULT_CHUNK
    ) -> ContentBuild:
        return cls(StoredZip(members_from_folder(folder), chunk_size), keys)

    def identity(self) -> str:
        """A short non-secret id of (keys, archive plan): equal ids mean byte-identical blobs."""
        return hashlib.sha256(f"{self.keys.fingerprint()}:{self.archive.signature()}".encode()).hexdigest()[:8]

    @property
    def info(self) -> EncryptionInfo:
        if self._info is None:
            raise RuntimeError("the content has not been streamed to the end yet")
        return self._info

    def ciphertext(self) -> Iterator[bytes]:
        """Yield the blob bytes from offset 48 to the end, in order."""
        for view in self.ciphertext_views():
            yield bytes(view)

    def ciphertext_views(self) -> Iterator[memoryview]:
        """As `ciphertext()`, but each chunk is a view valid only until the next one is asked for."""
        if self._started:
            raise RuntimeError("a ContentBuild streams once; create a new one with the same keys to repeat it")
        self._started = True
        reader = self.archive.reader()
        try:
            encryptor = StreamEncryptor(self.keys, parallel=self._parallel, plaintext_sha256=self._plaintext_sha256)
            with encryptor:
                chunks = encryptor.encrypt_chunks(reader.readinto, self.archive.chunk_size, self.unencrypted_size)
                for view in chunks:
                    if encryptor.info is not None:
                        self._info = encryptor.info
                    yield view
        finally:
            reader.close()


def write_blob(build: ContentBuild, sink: BinaryIO) -> EncryptionInfo:
    """Write the whole blob to a seekable sink: placeholder header, ciphertext, then the real header at offset 0."""
    start = sink.tell()
    sink.write(b"\0" * HEADER_SIZE)
    for chunk in build.ciphertext_views():
        sink.write(chunk)
    end = sink.tell()
    sink.seek(start)
    sink.write(build.info.header)
    sink.seek(end)
    return build.info
