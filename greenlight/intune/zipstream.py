"""A streaming, STORED-only ZIP writer whose total size is known before the first byte.

Why not `zipfile`: Graph wants the plaintext size and the encrypted size when the content file entry is
created, i.e. before the upload starts, and the content must be produced in one pass without a temp file.
With STORED entries every header has a fixed length, so the archive size follows from the member names and
sizes alone. DEFLATE would save nothing on installers (MSI, EXE and MSIX are already compressed) and would make
the size unknowable in advance, so this writer never compresses.

A member whose CRC-32 is known in advance (the staging step computes it while downloading) gets an ordinary local
header. Otherwise the CRC is computed while streaming and written in a data descriptor (flag bit 3), which has a
fixed length too, so the size stays predictable. ZIP64 records are used per member when a size or offset needs them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import queue
import struct
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from greenlight.intune.errors import ContentSourceError

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
        return _FLAG_UTF8 | (_FLAG_DATA_DESCRIPTOR if self.member.crc32 is None else 0)

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
        if self.member.crc32 is None:
            crc = 0  # the real values follow the data in the data descriptor
            if not self.zip64:
                sizes = (0, 0)
        head = struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, version, self.flags, 0, time, date, crc, *sizes, len(self.name), len(extra)
        )
        return head + self.name + extra

    def data_descriptor(self, crc: int) -> bytes:
        if self.member.crc32 is not None:
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
        """Yield the archive; raises ContentSourceError if a member's size or known CRC does not hold."""
        crcs: list[int] = []
        for planned in self._planned:
            yield planned.local_header()
            reader = _MemberReader(planned.member, self.chunk_size)
            try:
                while (chunk := reader.next_chunk()) is not None:
                    yield chunk
            finally:
                reader.close()
            crc = reader.crc
            if planned.member.crc32 is not None and planned.member.crc32 != crc:
                raise ContentSourceError(f"{planned.member.name!r} does not match its declared CRC-32")
            crcs.append(crc)
            yield planned.data_descriptor(crc)
        yield b"".join(p.central_header(crc) for p, crc in zip(self._planned, crcs, strict=True))
        yield self._end_records()


class _MemberReader(threading.Thread):
    """Reads one member ahead of the consumer and computes its CRC-32 on this thread (file reads and zlib release
    the GIL), so reading and checksumming overlap with encryption. The queue is bounded: memory stays small."""

    _DONE = object()

    def __init__(self, member: ZipMember, chunk_size: int) -> None:
        super().__init__(name="intune-zip-reader", daemon=True)
        self.member = member
        self.chunk_size = chunk_size
        self.crc = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=4)
        self._cancel = threading.Event()
        self.start()

    def run(self) -> None:
        try:
            remaining = self.member.size
            with self.member.open() as source:
                while remaining and not self._cancel.is_set():
                    chunk = source.read(min(self.chunk_size, remaining))
                    if not chunk:
                        raise ContentSourceError(f"{self.member.name!r} ended {remaining} bytes early")
                    self.crc = zlib.crc32(chunk, self.crc)
                    remaining -= len(chunk)
                    self._put(chunk)
                if not self._cancel.is_set() and source.read(1):
                    raise ContentSourceError(f"{self.member.name!r} is longer than its declared size")
            self._put(self._DONE)
        except BaseException as error:  # noqa: BLE001 - handed to the consuming thread
            self._put(error)

    def _put(self, item: object) -> None:
        while not self._cancel.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def next_chunk(self) -> bytes | None:
        item = self._queue.get()
        if item is self._DONE:
            return None
        if isinstance(item, BaseException):
            raise item
        return item  # type: ignore[return-value]

    def close(self) -> None:
        self._cancel.set()
        self.join()


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
