"""MSZIP in the Windows Compression API buffer format (versionData.mszyml, reference §3.1).

Each block is a raw DEFLATE stream whose dictionary is the previous 32 KiB of output (the CAB MSZIP rule):
one decompressor over all blocks is wrong yet works for single-block files, so both shapes are tested.
"""

from __future__ import annotations

import struct
import zlib

from greenlight.winget.errors import HostileInput, ManifestError

MAGIC = bytes.fromhex("0A51E5C01800")
ALGORITHM_MSZIP = 2
HEADER_SIZE = 24
MAX_BLOCK_OUTPUT = 32 * 1024
DEFAULT_MAX_OUTPUT = 4 * 1024 * 1024


def _header_check(header: bytes) -> int:
    return zlib.crc32(header[0:6] + header[7:24]) & 0xFF


def decompress(data: bytes, max_output: int = DEFAULT_MAX_OUTPUT) -> bytes:
    if len(data) < HEADER_SIZE or data[:6] != MAGIC:
        raise ManifestError("versionData is not in the MSZIP buffer format (bad magic)")
    if data[6] != _header_check(data[:HEADER_SIZE]):
        raise ManifestError("versionData MSZIP header check byte is wrong")
    if data[7] != ALGORITHM_MSZIP:
        raise ManifestError(f"versionData compression algorithm {data[7]} is not MSZIP (2)")
    total, _first = struct.unpack_from("<QQ", data, 8)
    if total > max_output:
        raise HostileInput(f"versionData expands to {total} bytes; the limit is {max_output}")
    out = bytearray()
    pos = HEADER_SIZE
    while pos < len(data):
        if pos + 6 > len(data):
            raise ManifestError("versionData MSZIP block header is truncated")
        (size,) = struct.unpack_from("<I", data, pos)
        if data[pos + 4 : pos + 6] != b"CK" or size < 2 or pos + 4 + size > len(data):
            raise ManifestError("versionData MSZIP block is malformed (missing CK marker or bad size)")
        inflater = zlib.decompressobj(wbits=-15, zdict=bytes(out[-32768:])) if out else zlib.decompressobj(wbits=-15)
        try:
            block = inflater.decompress(data[pos + 6 : pos + 4 + size], MAX_BLOCK_OUTPUT + 1)
        except zlib.error as error:
            raise ManifestError(f"versionData MSZIP block does not inflate: {error}") from None
        if len(block) > MAX_BLOCK_OUTPUT or inflater.unconsumed_tail:
            raise HostileInput("versionData MSZIP block inflates beyond 32 KiB")
        out += block
        if len(out) > total:
            raise HostileInput("versionData inflates beyond its declared size")
        pos += 4 + size
    if len(out) != total:
        raise ManifestError(f"versionData inflates to {len(out)} bytes but declares {total}")
    return bytes(out)


def compress(data: bytes, level: int = 9) -> bytes:
    """The writer used by the sandbox's source builder (bytes differ from Windows' output; hashes are ours)."""
    blocks = bytearray()
    for start in range(0, max(len(data), 1), MAX_BLOCK_OUTPUT):
        chunk = data[start : start + MAX_BLOCK_OUTPUT]
        history = data[max(0, start - 32768) : start]
        if history:
            deflater = zlib.compressobj(level, zlib.DEFLATED, -15, 9, zdict=history)
        else:
            deflater = zlib.compressobj(level, zlib.DEFLATED, -15, 9)
        body = deflater.compress(chunk) + deflater.flush()
        blocks += struct.pack("<I", len(body) + 2) + b"CK" + body
    header = bytearray(
        MAGIC + b"\x00" + bytes([ALGORITHM_MSZIP]) + struct.pack("<QQ", len(data), min(len(data), MAX_BLOCK_OUTPUT))
    )
    header[6] = _header_check(bytes(header))
    return bytes(header) + bytes(blocks)
