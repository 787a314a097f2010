"""A streaming, STORED-only ZIP writer whose total size is known before the first byte.

Why not `zipfile`: Graph wants the plaintext size and the encrypted size when the content file entry is
created, i.e. before the upload starts, and the content must be produced in one pass without a temp file.
With STORED entries every header has a fixed length, so the archive size follows from the member names and
sizes alone. DEFLATE would save nothing on installers (MSI, EXE and MSIX are already compressed) and would make
the size unknowable in advance, so this writer never compresses.

A member whose CRC-32 is known in advance (the staging step computes it while downloading) gets an ordinary local
header. Otherwise the CRC is computed while streaming and written in a data descriptor (flag bit 3), which has a
fixed length too, so the size stays predictable. ZIP64 records are used per member when a size or offset needs them.

A member may also be `framed` with a data descriptor although its CRC is known: then the bytes before its data
do not depend on its CRC, which lets the staging step hash the whole archive (`head`, the installer as it
downloads, `tail`) before the CRC is known, so packaging need not hash the plaintext again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from greenlight.intune.errors import ContentSourceError

try:  # ISA-L's CRC-32 (carry-less multiply) is about 5x zlib's; same polynomial, same results
    from isal.isal_zlib import crc32
except ImportError:  # pragma: no cover - a platform without the wheel keeps zlib's
    from zlib import crc32

_U32 = 0xFFFFFFFF
_FLAG_DATA_DESCRIPTOR = 0x0008
_FLAG_UTF8 = 0x0800
_VERSION_DEFAULT = 20
_VERSION_ZIP64 = 45
DEFAULT_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ZipMember:
    """One file of the setup folder: its path inside the zip and how to read its bytes once."""

    name: str
    size: int
    open: Callable[[], BinaryIO]
    crc32: int | None = None
    modified: dt.datetime | None = None
    framed: bool = False  # CRC-32 in a data descriptor after the data, even when it is known (and checked)

    @property
    def has_descriptor(self) -> bool:
        return self.crc32 is None or self.framed

    def __post_init__(self) -> None:
        if not self.name or self.name.startswith("/") or "\\" in self.name or ".." in self.name.split("/"):
            raise ContentSourceError(f"member name must be a relative forward-slash path: {self.name!r}")
        if self.size < 0:
            raise ContentSourceError(f"member {self.name!r} has a negative size")


def _dos_time(moment: dt.datetime | None) -> tuple[int, int]:
    moment = moment or dt.datetime(1980, 1, 1)
    if moment.year < 1980:
        moment = dt.datetime(1980, 1, 1)
    if moment.year > 2107:
        moment = dt.datetime(2107, 12, 31, 23, 59, 58)
    time = (moment.hour << 11) | (moment.minute << 5) | (moment.second // 2)
    date = ((moment.year - 1980) << 9) | (moment.month << 5) | moment.day
    return time, date


@dataclass(frozen=True)
class PlannedMember:
    member: ZipMember
    name: bytes
    offset: int
    zip64: bool  # sizes or offset need ZIP64 fields

    @property
    def flags(self) -> int:
        return _FLAG_UTF8 | (_FLAG_DATA_DESCRIPTOR if self.member.has_descriptor else 0)

    def local_header(self) -> bytes:
        time, date = _dos_time(self.member.modified)
        crc = self.member.crc32 or 0
        size = self.member.size
        if self.zip64:
            extra = struct.pack("<HHQQ", 0x0001, 16, size, size)
            sizes = (_U32, _U32)
            version = _VERSION_ZIP64
        else:
            extra = b""
            sizes = (size, size)
            version = _VERSION_DEFAULT
        if self.member.has_descriptor:
            crc = 0  # the real values follow the data in the data descriptor
            if not self.zip64:
                sizes = (0, 0)
        head = struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, version, self.flags, 0, time, date, crc, *sizes, len(self.name), len(extra)
        )
        return head + self.name + extra

    def data_descriptor(self, crc: int) -> bytes:
        if not self.member.has_descriptor:
            return b""
        if self.zip64:
            return struct.pack("<IIQQ", 0x08074B50, crc, self.member.size, self.member.size)
        return struct.pack("<IIII", 0x08074B50, crc, self.member.size, self.member.size)

    def central_header(self, crc: int) -> bytes:
        time, date = _dos_time(self.member.modified)
        size = self.member.size
        fields: list[int] = []
        size_field = size
        offset_field = self.offset
        if size >= _U32:
            fields += [size, size]
            size_field = _U32
        if self.offset >= _U32:
            fields.append(self.offset)
            offset_field = _U32
        extra = struct.pack(f"<HH{len(fields)}Q", 0x0001, 8 * len(fields), *fields) if fields else b""
        version = _VERSION_ZIP64 if self.zip64 else _VERSION_DEFAULT
        head = struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            _VERSION_ZIP64,  # version made by: 4.5, MS-DOS attribute compatibility
            version,
            self.flags,
            0,
            time,
            date,
            crc,
            size_field,
            size_field,
            len(self.name),
            len(extra),
            0,
            0,
            0,
            0x20,  # archive bit, as Windows tools write
            offset_field,
        )
        return head + self.name + extra


class StoredZip:
    """The plan of an archive: `size` is exact before streaming; `stream()` yields its bytes in one pass."""

    def __init__(self, members: Sequence[ZipMember], chunk_size: int = DEFAULT_CHUNK) -> None:
        if not members:
            raise ContentSourceError("the setup folder is empty")
        names = [m.name for m in members]
        if len(set(names)) != len(names):
            raise ContentSourceError("duplicate member names in the setup folder")
        self.chunk_size = chunk_size
        self._planned: list[PlannedMember] = []
        offset = 0
        for member in members:
            zip64 = member.size >= _U32 or offset >= _U32
            planned = PlannedMember(member, member.name.encode("utf-8"), offset, zip64)
            self._planned.append(planned)
            offset += len(planned.local_header()) + member.size + len(planned.data_descriptor(0))
        self._central_offset = offset
        self._central_size = sum(len(p.central_header(0)) for p in self._planned)
        self.size = offset + self._central_size + len(self._end_records())

    def signature(self) -> str:
        """SHA-256 over every member's name, size, time and declared CRC (what the plaintext depends on, besides
        the member bytes themselves)."""
        digest = hashlib.sha256()
        for planned in self._planned:
            digest.update(planned.local_header())
        return digest.hexdigest()

    @property
    def members(self) -> list[ZipMember]:
        return [p.member for p in self._planned]

    def _end_records(self) -> bytes:
        return end_records(self._planned, self._central_offset, self._central_size)

    def stream(self) -> Iterator[bytes]:
        """Yield the archive (headers, then each member's chunks as its source returns them); raises
        ContentSourceError if a member's size or known CRC does not hold."""
        crcs: list[int] = []
        for planned in self._planned:
            yield planned.local_header()
            with _MemberSource(planned.member) as source:
                while chunk := source.read(self.chunk_size):
                    yield chunk
                crcs.append(source.finish())
            yield planned.data_descriptor(crcs[-1])
        yield self._central_directory(crcs)

    def _central_directory(self, crcs: list[int]) -> bytes:
        central = b"".join(p.central_header(crc) for p, crc in zip(self._planned, crcs, strict=True))
        return central + self._end_records()

    def _pieces(self) -> Iterator[bytes | _MemberSource]:
        crcs: list[int] = []
        for planned in self._planned:
            yield planned.local_header()
            with _MemberSource(planned.member) as source:
                yield source
                crcs.append(source.finish())
            yield planned.data_descriptor(crcs[-1])
        yield self._central_directory(crcs)

    def head(self) -> bytes:
        """The archive's bytes before its first member's data (they do not depend on that member's CRC-32 when it
        has a data descriptor)."""
        first = self._planned[0]
        if not first.member.has_descriptor:
            raise ContentSourceError("the archive's head depends on its first member's CRC: frame that member")
        return first.local_header()

    def tail(self, first_crc: int) -> bytes:
        """The archive's bytes after its first member's data, given that member's CRC-32: `head() + data + tail()`
        is the whole archive. The other members are read here (they are the plan's small scripts)."""
        crcs = [first_crc]
        parts = [self._planned[0].data_descriptor(first_crc)]
        for planned in self._planned[1:]:
            parts.append(planned.local_header())
            with _MemberSource(planned.member) as source:
                while chunk := source.read(self.chunk_size):
                    parts.append(chunk)
                crcs.append(source.finish())
            parts.append(planned.data_descriptor(crcs[-1]))
        parts.append(self._central_directory(crcs))
        return b"".join(parts)

    def frame_sha256(self, first_crc: int) -> str:
        """SHA-256 of everything but the first member's data: equal values mean the same archive around it."""
        return hashlib.sha256(self.head() + b"\0" + self.tail(first_crc)).hexdigest()

    def reader(self) -> ArchiveReader:
        """The archive as a file-like `readinto` source: member bytes are read straight into the caller's buffer."""
        return ArchiveReader(self._pieces())


class _MemberSource:
    """One member's bytes, read once, checked against its declared size (and CRC-32, when declared)."""

    def __init__(self, member: ZipMember) -> None:
        self.member = member
        self.remaining = member.size
        self.crc = 0
        self._stream: BinaryIO | None = None
        self._copy = False  # the stream has no working readinto: read() and copy

    def __enter__(self) -> _MemberSource:
        self._stream = self.member.open()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _early(self) -> ContentSourceError:
        return ContentSourceError(f"{self.member.name!r} ended {self.remaining} bytes early")

    def read(self, size: int) -> bytes:
        if not self.remaining:
            return b""
        assert self._stream is not None
        chunk = self._stream.read(min(size, self.remaining))
        if not chunk:
            raise self._early()
        self.crc = crc32(chunk, self.crc)
        self.remaining -= len(chunk)
        return chunk

    def readinto(self, buffer: memoryview) -> int:
        """Fill up to len(buffer) bytes (fewer only at the member's end)."""
        assert self._stream is not None
        target = buffer[: min(len(buffer), self.remaining)]
        filled = 0
        while filled < len(target):
            count = self._read_some(target[filled:])
            if not count:
                raise self._early()
            filled += count
            self.remaining -= count
        self.crc = crc32(target, self.crc)
        return filled

    def _read_some(self, view: memoryview) -> int:
        assert self._stream is not None
        if not self._copy:
            try:
                return self._stream.readinto(view) or 0  # type: ignore[attr-defined]
            except (AttributeError, NotImplementedError, io.UnsupportedOperation):
                self._copy = True
        chunk = self._stream.read(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)

    def finish(self) -> int:
        """The member's CRC-32, after checking that it ended exactly where declared and matches a declared CRC."""
        assert self._stream is not None
        if self.remaining:
            raise self._early()
        if self._stream.read(1):
            raise ContentSourceError(f"{self.member.name!r} is longer than its declared size")
        if self.member.crc32 is not None and self.member.crc32 != self.crc:
            raise ContentSourceError(f"{self.member.name!r} does not match its declared CRC-32")
        return self.crc


class ArchiveReader:
    """`readinto` over the archive's pieces: header bytes are copied in, member bytes are read in directly.
    No reader thread: file reads from the page cache cost little next to encryption, and keeping them on the
    encrypting thread saves a hand-off per chunk."""

    def __init__(self, pieces: Iterator[bytes | _MemberSource]) -> None:
        self._pieces = pieces
        self._pending = memoryview(b"")
        self._member: _MemberSource | None = None
        self._ended = False

    def readinto(self, buffer: memoryview | bytearray) -> int:
        """Fill `buffer` completely unless the archive ends first; 0 at the end."""
        view = memoryview(buffer)
        filled = 0
        while filled < len(view) and not self._ended:
            if self._pending:
                count = min(len(self._pending), len(view) - filled)
                view[filled : filled + count] = self._pending[:count]
                self._pending = self._pending[count:]
                filled += count
            elif self._member is not None and self._member.remaining:
                filled += self._member.readinto(view[filled:])
            else:
                self._advance()
        return filled

    def _advance(self) -> None:
        self._member = None
        piece = next(self._pieces, None)
        if piece is None:
            self._ended = True
        elif isinstance(piece, _MemberSource):
            self._member = piece
        else:
            self._pending = memoryview(piece)

    def close(self) -> None:
        self._pieces.close()  # type: ignore[attr-defined]


def end_records(entries: Sequence[PlannedMember], central_offset: int, central_size: int) -> bytes:
    """ZIP64 end record + locator (when needed) and the classic end-of-central-directory record."""
    count = len(entries)
    records = b""
    if count >= 0xFFFF or central_offset >= _U32 or central_size >= _U32 or any(p.zip64 for p in entries):
        records += struct.pack(
            "<IQHHIIQQQQ",
            0x06064B50,
            44,
            _VERSION_ZIP64,
            _VERSION_ZIP64,
            0,
            0,
            count,
            count,
            central_size,
            central_offset,
        )
        records += struct.pack("<IIQI", 0x07064B50, 0, central_offset + central_size, 1)
    records += struct.pack(
        "<IHHHHIIH",
        0x06054B50,
        0,
        0,
        min(count, 0xFFFF),
        min(count, 0xFFFF),
        min(central_size, _U32),
        min(central_offset, _U32),
        0,
    )
    return records
