"""ZIP64: a member over 4 GiB and a member whose offset is past 4 GiB, read back by Python's zipfile.

The 4 GiB of member data are zeros served from one shared buffer and never stored: the archive is kept as a list
of segments (real header bytes, or "n zeros"), and zipfile reads it through a seekable view of those segments."""

from __future__ import annotations

import io
import zipfile
import zlib

from greenlight.intune.zipstream import StoredZip, ZipMember

BIG = 4 * 1024**3 + 1024 * 1024  # just over the 32-bit limit
_ZEROS = bytes(8 * 1024 * 1024)


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.remaining = size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = min(n, self.remaining, len(_ZEROS))
        self.remaining -= n
        return _ZEROS if n == len(_ZEROS) else bytes(n)


class _SegmentFile(io.RawIOBase):
    """A read-only, seekable file made of (bytes | zero-count) segments."""

    def __init__(self, segments: list[bytes | int]) -> None:
        self.segments = segments
        self.size = sum(s if isinstance(s, int) else len(s) for s in segments)
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: offset, 1: self.position + offset, 2: self.size + offset}[whence]
        return self.position

    def tell(self) -> int:
        return self.position

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.position if n < 0 else min(n, self.size - self.position)
        out, start = bytearray(), 0
        for segment in self.segments:
            length = segment if isinstance(segment, int) else len(segment)
            lo, hi = max(self.position, start), min(self.position + n, start + length)
            if lo < hi:
                out += bytes(hi - lo) if isinstance(segment, int) else segment[lo - start : hi - start]
            start += length
        self.position += len(out)
        return bytes(out)


def test_zip64_member_and_offset_are_readable_by_zipfile() -> None:
    small = b"after the big one"
    archive = StoredZip(
        [
            ZipMember("big.bin", BIG, lambda: _Zeros(BIG)),
            ZipMember("small.txt", len(small), lambda: io.BytesIO(small), crc32=zlib.crc32(small)),
        ],
        chunk_size=len(_ZEROS),
    )
    segments: list[bytes | int] = []
    for chunk in archive.stream():
        if chunk is _ZEROS:
            segments.append(len(chunk))
        elif chunk and not any(chunk):  # the short tail of zeros
            segments.append(len(chunk))
        else:
            segments.append(chunk)
    view = _SegmentFile(segments)
    assert view.size == archive.size  # the size planned before streaming is exact

    with zipfile.ZipFile(view) as opened:
        big, second = opened.infolist()
        assert (big.filename, big.file_size, big.compress_type) == ("big.bin", BIG, zipfile.ZIP_STORED)
        assert second.header_offset > 0xFFFFFFFF
        assert opened.read("small.txt") == small  # CRC checked by zipfile
        with opened.open("big.bin") as member:
            assert member.read(1024) == bytes(1024)
