"""Writes an MSIX the way MakeAppx lays it out: payload, AppxBlockMap.xml, [Content_Types].xml, then
AppxSignature.p7x as the last entry, with the APPX digest computed over exactly those bytes."""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from collections.abc import Callable
from xml.sax.saxutils import quoteattr

from greenlight.winget.appx import BLOCK_SIZE

CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="xml" ContentType="application/vnd.ms-appx.manifest+xml"/>'
    b'<Default Extension="db" ContentType="application/octet-stream"/>'
    b'<Override PartName="/AppxBlockMap.xml" ContentType="application/vnd.ms-appx.blockmap+xml"/>'
    b'<Override PartName="/AppxSignature.p7x" ContentType="application/vnd.ms-appx.signature"/>'
    b"</Types>"
)
_DOS_TIME, _DOS_DATE = 0, (2024 - 1980) << 9 | 1 << 5 | 1


def appx_manifest(name: str, publisher: str, version: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<Package xmlns="http://schemas.microsoft.com/appx/manifest/foundation/windows10">\n'
        f"  <Identity Name={quoteattr(name)} Publisher={quoteattr(publisher)} Version={quoteattr(version)} "
        'ProcessorArchitecture="neutral"/>\n'
        "  <Properties><DisplayName>WinGet Source</DisplayName><PublisherDisplayName>Greenlight sandbox"
        "</PublisherDisplayName><Logo>none.png</Logo></Properties>\n"
        "</Package>\n"
    ).encode()


def block_map(files: list[tuple[str, bytes]]) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<BlockMap xmlns="http://schemas.microsoft.com/appx/2010/blockmap" '
        'HashMethod="http://www.w3.org/2001/04/xmlenc#sha256">'
    ]
    for name, data in files:
        header_size = 30 + len(name.encode())  # local header without extra field, as _Zip writes it
        windows_name = quoteattr(name.replace("/", "\\"))
        parts.append(f'<File Name={windows_name} Size="{len(data)}" LfhSize="{header_size}">')
        for start in range(0, len(data), BLOCK_SIZE):
            digest = base64.b64encode(hashlib.sha256(data[start : start + BLOCK_SIZE]).digest()).decode()
            parts.append(f'<Block Hash="{digest}"/>')
        parts.append("</File>")
    parts.append("</BlockMap>")
    return "".join(parts).encode()


class _Zip:
    def __init__(self) -> None:
        self.body = bytearray()
        self.directory: list[bytes] = []

    def add(self, name: str, data: bytes, *, compress: bool = True) -> None:
        encoded = name.encode()
        if compress:
            deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
            stored = deflater.compress(data) + deflater.flush()
            method = 8
        else:
            stored, method = data, 0
        crc = zlib.crc32(data)
        offset = len(self.body)
        self.body += struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            20,
            0,
            method,
            _DOS_TIME,
            _DOS_DATE,
            crc,
            len(stored),
            len(data),
            len(encoded),
            0,
        )
        self.body += encoded + stored
        self.directory.append(
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                20,
                20,
                0,
                method,
                _DOS_TIME,
                _DOS_DATE,
                crc,
                len(stored),
                len(data),
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )

    def end(self, count: int, cd: bytes, cd_offset: int) -> bytes:
        return struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(cd), cd_offset, 0)


def build_msix(
    payload: list[tuple[str, bytes]],
    sign: Callable[[bytes], bytes],
    *,
    blockmap_override: bytes | None = None,
) -> bytes:
    """`payload` is [(zip name, content)] (AppxManifest.xml included); `sign(digest_blob) -> p7x bytes`."""
    archive = _Zip()
    for name, data in payload:
        archive.add(name, data)
    blockmap = blockmap_override if blockmap_override is not None else block_map(payload)
    archive.add("AppxBlockMap.xml", blockmap)
    archive.add("[Content_Types].xml", CONTENT_TYPES)
    records = bytes(archive.body)
    cd = b"".join(archive.directory)
    axcd_source = cd + archive.end(len(archive.directory), cd, len(records))
    blob = b"APPX" + b"".join(
        tag + hashlib.sha256(value).digest()
        for tag, value in (
            (b"AXPC", records),
            (b"AXCD", axcd_source),
            (b"AXCT", CONTENT_TYPES),
            (b"AXBM", blockmap),
        )
    )
    archive.add("AppxSignature.p7x", sign(blob), compress=False)
    full_cd = b"".join(archive.directory)
    return bytes(archive.body) + full_cd + archive.end(len(archive.directory), full_cd, len(archive.body))


def replace_payload(msix_payload: list[tuple[str, bytes]], name: str, data: bytes) -> list[tuple[str, bytes]]:
    return [(n, data if n == name else d) for n, d in msix_payload]
