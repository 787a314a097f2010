"""A strict, read-only view of a ZIP (MSIX) archive, parsed by hand.

`zipfile` hides what the APPX digests need (raw local records, the raw central directory, exact offsets) and
tolerates layouts an attacker can abuse (gaps between records, duplicate names, overlapping entries, ZIP64
records that disagree with the classic ones). This parser keeps the raw bytes and refuses all of those.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from greenlight.winget.errors import HostileInput, MalformedPackage

EOCD_SIG = b"PK\x05\x06"
ZIP64_LOCATOR_SIG = b"PK\x06\x07"
ZIP64_EOCD_SIG = b"PK\x06\x06"
CD_SIG = b"PK\x01\x02"
LOCAL_SIG = b"PK\x03\x04"
DESCRIPTOR_SIG = b"PK\x07\x08"

MAX_ENTRIES = 10_000
MAX_RATIO = 1_000  # deflate tops out near 1:1032; anything above is a bomb, not data
CHUNK = 64 * 1024


@dataclass(frozen=True)
class ZipEntry:
    name: str
    method: int
    flags: int
    crc32: int
    compressed_size: int
    uncompressed_size: int
    local_offset: int
    local_header_size: int  # 30 + name + extra of the LOCAL header (the block map's LfhSize)
    data_offset: int
    record_end: int  # end of data + data descriptor: where the next local record must start
    cd_offset: int  # this entry's record inside the raw central directory
    cd_length: int


@dataclass(frozen=True)
class EndOfCentralDirectory:
    raw: bytes  # the classic EOCD record including the comment
    entries: int
    cd_size: int
    cd_offset: int
    zip64_record: bytes | None  # raw ZIP64 EOCD record (without locator)
    zip64_locator: bytes | None


class ZipView:
    """Parsed layout of an archive held in memory (source packages are capped at tens of MB)."""

    def __init__(self, data: bytes, *, max_total_uncompressed: int) -> None:
        self.data = data
        self.max_total_uncompressed = max_total_uncompressed
        self.layout_problems: list[str] = []
        self.eocd = self._read_eocd()
        self.entries = self._read_central_directory()
        self._by_name = {entry.name: entry for entry in self.entries}
        self._check_local_records()

    # ------------------------------------------------------------ structure

    def _read_eocd(self) -> EndOfCentralDirectory:
        data = self.data
        start = max(0, len(data) - 22 - 0xFFFF)
        pos = data.rfind(EOCD_SIG, start)
        if pos < 0 or len(data) - pos < 22:
            raise MalformedPackage("not a ZIP archive: end of central directory record not found")
        (_, disk, cd_disk, n_disk, n_total, cd_size, cd_offset, comment_len) = struct.unpack_from(
            "<4sHHHHIIH", data, pos
        )
        if pos + 22 + comment_len != len(data):
            raise MalformedPackage("bytes after the end of central directory record")
        if disk not in (0, 0xFFFF) or cd_disk not in (0, 0xFFFF) or n_disk != n_total:
            raise MalformedPackage("multi-disk archives are not supported")
        raw = data[pos:]
        zip64_record = zip64_locator = None
        needs_zip64 = 0xFFFF in (n_total,) or 0xFFFFFFFF in (cd_size, cd_offset)
        loc_pos = pos - 20
        if loc_pos >= 0 and data[loc_pos : loc_pos + 4] == ZIP64_LOCATOR_SIG:
            _, _, rec_offset, total_disks = struct.unpack_from("<4sIQI", data, loc_pos)
            if total_disks != 1 or rec_offset + 56 > loc_pos:
                raise MalformedPackage("ZIP64 locator points outside the archive")
            if data[rec_offset : rec_offset + 4] != ZIP64_EOCD_SIG:
                raise MalformedPackage("ZIP64 end of central directory record missing")
            (_, rec_size, _, _, _, _, n64_disk, n64_total, cd64_size, cd64_offset) = struct.unpack_from(
                "<4sQHHIIQQQQ", data, rec_offset
            )
            if rec_offset + 12 + rec_size != loc_pos:
                raise MalformedPackage("ZIP64 end of central directory record has a wrong size")
            if n64_disk != n64_total:
                raise MalformedPackage("multi-disk ZIP64 archives are not supported")
            # A classic field that is not the sentinel must agree with its ZIP64 twin (a classic ZIP64 trick
            # is to let two parsers see two different directories).
            for classic, wide, what in ((n_total, n64_total, "entry count"), (cd_size, cd64_size, "size")):
                sentinel = 0xFFFF if what == "entry count" else 0xFFFFFFFF
                if classic != sentinel and classic != wide:
                    raise MalformedPackage(f"ZIP64 and classic central directory {what} disagree")
            if cd_offset != 0xFFFFFFFF and cd_offset != cd64_offset:
                raise MalformedPackage("ZIP64 and classic central directory offset disagree")
            n_total, cd_size, cd_offset = n64_total, cd64_size, cd64_offset
            zip64_record = data[rec_offset:loc_pos]
            zip64_locator = data[loc_pos:pos]
            cd_end = rec_offset
        elif needs_zip64:
            raise MalformedPackage("ZIP64 sentinel values without a ZIP64 end of central directory")
        else:
            cd_end = pos
        if cd_offset + cd_size != cd_end:
            raise MalformedPackage("central directory is not immediately followed by its end record")
        if n_total > MAX_ENTRIES:
            raise HostileInput(f"archive has {n_total} entries; at most {MAX_ENTRIES} are accepted")
        return EndOfCentralDirectory(raw, n_total, cd_size, cd_offset, zip64_record, zip64_locator)

    def _read_central_directory(self) -> list[ZipEntry]:
        data = self.data
        pos = self.eocd.cd_offset
        end = pos + self.eocd.cd_size
        entries: list[ZipEntry] = []
        seen: set[str] = set()
        total = 0
        for _ in range(self.eocd.entries):
            if data[pos : pos + 4] != CD_SIG or pos + 46 > end:
                raise MalformedPackage("corrupt central directory entry")
            (_, _, _, flags, method, _, _, crc, csize, usize, nlen, xlen, clen, disk, _, _, lho) = struct.unpack_from(
                "<4sHHHHHHIIIHHHHHII", data, pos
            )
            name_bytes = data[pos + 46 : pos + 46 + nlen]
            extra = data[pos + 46 + nlen : pos + 46 + nlen + xlen]
            length = 46 + nlen + xlen + clen
            if pos + length > end:
                raise MalformedPackage("central directory entry runs past the directory")
            usize, csize, lho = _apply_zip64_extra(extra, usize, csize, lho)
            name = _safe_name(name_bytes, flags)
            if name in seen or name.lower() in {s.lower() for s in seen}:
                raise MalformedPackage(f"duplicate entry name {name!r}")
            seen.add(name)
            if name.endswith("/"):
                # Not fatal here so the digest check can still say what was tampered with; the verifier
                # refuses the package on `layout_problems` right after the digests.
                if usize != 0:
                    raise MalformedPackage(f"directory entry {name!r} has content")
                self.layout_problems.append(f"directory entry {name!r} is not allowed in an MSIX package")
            if method not in (0, 8):
                raise MalformedPackage(f"entry {name!r} uses compression method {method}; only 0 and 8 are allowed")
            if flags & 0x1:
                raise MalformedPackage(f"entry {name!r} is encrypted")
            if disk not in (0, 0xFFFF):
                raise MalformedPackage("multi-disk archives are not supported")
            if method == 0 and csize != usize:
                raise MalformedPackage(f"stored entry {name!r} has different compressed and uncompressed sizes")
            if method == 8 and usize > max(csize, 1) * MAX_RATIO:
                raise HostileInput(f"entry {name!r} claims a compression ratio above {MAX_RATIO}:1 (zip bomb)")
            total += usize
            if total > self.max_total_uncompressed:
                raise HostileInput(
                    f"archive expands to more than {self.max_total_uncompressed} bytes; refused (zip bomb guard)"
                )
            entries.append(
                ZipEntry(name, method, flags, crc, csize, usize, lho, 0, 0, 0, pos - self.eocd.cd_offset, length)
            )
            pos += length
        if pos != end:
            raise MalformedPackage("central directory has trailing bytes")
        return entries

    def _check_local_records(self) -> None:
        """Records must be contiguous from offset 0 in CD order, each matching its CD entry."""
        data = self.data
        checked: list[ZipEntry] = []
        expected_offset = 0
        ordered = sorted(self.entries, key=lambda e: e.local_offset)
        for number, entry in enumerate(ordered):
            next_offset = ordered[number + 1].local_offset if number + 1 < len(ordered) else self.eocd.cd_offset
            if entry.local_offset != expected_offset:
                raise MalformedPackage(f"gap or overlap before the local record of {entry.name!r}")
            pos = entry.local_offset
            if data[pos : pos + 4] != LOCAL_SIG:
                raise MalformedPackage(f"local header of {entry.name!r} is missing")
            (_, _, flags, method, _, _, crc, csize, usize, nlen, xlen) = struct.unpack_from("<4sHHHHHIIIHH", data, pos)
            local_name = data[pos + 30 : pos + 30 + nlen]
            if _safe_name(local_name, flags) != entry.name or method != entry.method:
                raise MalformedPackage(f"local header of {entry.name!r} disagrees with the central directory")
            header_size = 30 + nlen + xlen
            data_offset = pos + header_size
            data_end = data_offset + entry.compressed_size
            if data_end > self.eocd.cd_offset:
                raise MalformedPackage(f"data of {entry.name!r} runs into the central directory")
            if not flags & 0x8:
                local_extra = data[pos + 30 + nlen : data_offset]
                l_usize, l_csize, _ = _apply_zip64_extra(local_extra, usize, csize, 0)
                if (l_csize, l_usize, crc) != (entry.compressed_size, entry.uncompressed_size, entry.crc32):
                    raise MalformedPackage(f"local header sizes of {entry.name!r} disagree with the central directory")
                record_end = data_end
            else:
                record_end = data_end + _descriptor_length(data, data_end, next_offset - data_end, entry)
            checked.append(
                ZipEntry(
                    entry.name,
                    entry.method,
                    entry.flags,
                    entry.crc32,
                    entry.compressed_size,
                    entry.uncompressed_size,
                    entry.local_offset,
                    header_size,
                    data_offset,
                    record_end,
                    entry.cd_offset,
                    entry.cd_length,
                )
            )
            expected_offset = record_end
        if expected_offset != self.eocd.cd_offset:
            raise MalformedPackage("unexpected bytes between the last local record and the central directory")
        by_name = {e.name: e for e in checked}
        self.entries = [by_name[e.name] for e in self.entries]
        self._by_name = by_name

    # ------------------------------------------------------------ access

    def names(self) -> list[str]:
        return [entry.name for entry in self.entries]

    def get(self, name: str) -> ZipEntry | None:
        return self._by_name.get(name)

    def raw_central_directory(self) -> bytes:
        return self.data[self.eocd.cd_offset : self.eocd.cd_offset + self.eocd.cd_size]

    def iter_content(self, entry: ZipEntry, limit: int | None = None) -> Iterator[bytes]:
        """Decompressed content in chunks; refuses more output than declared and checks size and CRC-32."""
        cap = entry.uncompressed_size if limit is None else min(limit, entry.uncompressed_size)
        if limit is not None and entry.uncompressed_size > limit:
            raise HostileInput(f"{entry.name!r} is {entry.uncompressed_size} bytes; the limit is {limit}")
        raw = memoryview(self.data)[entry.data_offset : entry.data_offset + entry.compressed_size]
        produced = 0
        crc = 0
        if entry.method == 0:
            for start in range(0, len(raw), CHUNK):
                chunk = bytes(raw[start : start + CHUNK])
                produced += len(chunk)
                crc = zlib.crc32(chunk, crc)
                yield chunk
        else:
            inflater = zlib.decompressobj(wbits=-15)
            for start in range(0, len(raw), CHUNK):
                pending = bytes(raw[start : start + CHUNK])
                while pending:
                    try:
                        chunk = inflater.decompress(pending, CHUNK)
                    except zlib.error as error:
                        raise MalformedPackage(f"entry {entry.name!r} is not valid DEFLATE data: {error}") from None
                    pending = inflater.unconsumed_tail
                    produced += len(chunk)
                    if produced > cap:
                        raise HostileInput(f"{entry.name!r} inflates beyond its declared size (zip bomb guard)")
                    crc = zlib.crc32(chunk, crc)
                    if chunk:
                        yield chunk
                    if inflater.eof:
                        break
            # MakeAppx may end a stream with a sync flush and no final block; size and CRC below still bind it.
            if inflater.unused_data:
                raise MalformedPackage(f"entry {entry.name!r} has bytes after its DEFLATE stream")
        if produced != entry.uncompressed_size:
            raise MalformedPackage(
                f"entry {entry.name!r} has {produced} bytes but declares {entry.uncompressed_size} (size mismatch)"
            )
        if crc != entry.crc32:
            raise MalformedPackage(f"entry {entry.name!r} fails its CRC-32 check")

    def read(self, name: str, limit: int) -> bytes:
        entry = self.get(name)
        if entry is None:
            raise MalformedPackage(f"required file {name!r} is missing from the package")
        return b"".join(self.iter_content(entry, limit))


def _apply_zip64_extra(extra: bytes, usize: int, csize: int, lho: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        if tag == 0x0001:
            values = []
            for off in range(0, len(body) - len(body) % 8, 8):
                values.append(struct.unpack_from("<Q", body, off)[0])
            it = iter(values)
            try:
                if usize == 0xFFFFFFFF:
                    usize = next(it)
                if csize == 0xFFFFFFFF:
                    csize = next(it)
                if lho == 0xFFFFFFFF:
                    lho = next(it)
            except StopIteration:
                raise MalformedPackage("ZIP64 extra field is shorter than the sentinels require") from None
        pos += 4 + size
    if 0xFFFFFFFF in (usize, csize, lho):
        raise MalformedPackage("ZIP64 sentinel value without a ZIP64 extra field")
    return usize, csize, lho


def _descriptor_length(data: bytes, pos: int, room: int, entry: ZipEntry) -> int:
    """Length of the data descriptor after an entry's data; it must fill the room up to the next record exactly
    (its width, 32- or 64-bit sizes, is not otherwise knowable) and agree with the central directory."""
    has_sig = data[pos : pos + 4] == DESCRIPTOR_SIG
    base = pos + 4 if has_sig else pos
    for fmt in ("<III", "<IQQ"):
        length = (4 if has_sig else 0) + struct.calcsize(fmt)
        if length != room:
            continue
        crc, csize, usize = struct.unpack_from(fmt, data, base)
        if (crc, csize, usize) == (entry.crc32, entry.compressed_size, entry.uncompressed_size):
            return length
    raise MalformedPackage(f"data descriptor of {entry.name!r} disagrees with the central directory or is padded")


def _safe_name(raw: bytes, flags: int) -> str:
    try:
        name = raw.decode("utf-8") if flags & 0x800 else raw.decode("cp437")
    except UnicodeDecodeError:
        raise MalformedPackage("entry name is not valid UTF-8") from None
    if not name or "\x00" in name or "\\" in name:
        raise MalformedPackage(f"entry name {name!r} is not allowed")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise HostileInput(f"entry name {name!r} is an absolute path (path traversal)")
    if any(part in ("..", ".") for part in name.split("/")):
        raise HostileInput(f"entry name {name!r} contains '..' (path traversal)")
    return name
