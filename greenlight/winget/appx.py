"""APPX package contents that the signature covers: the digest blob, the block map and the package identity.

Digest components (reference §4.2): AXPC = local records except the signature, AXCD = central directory without
the signature entry plus rewritten end records, AXCT/AXBM/AXCI = the uncompressed footprint files.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree import ElementTree

from greenlight.winget.errors import BlockMapMismatch, HostileInput, MalformedPackage
from greenlight.winget.zipview import ZipEntry, ZipView

SIGNATURE_NAME = "AppxSignature.p7x"
BLOCKMAP_NAME = "AppxBlockMap.xml"
CONTENT_TYPES_NAME = "[Content_Types].xml"
CODE_INTEGRITY_NAME = "AppxMetadata/CodeIntegrity.cat"
MANIFEST_NAME = "AppxManifest.xml"
FOOTPRINT = {SIGNATURE_NAME, BLOCKMAP_NAME, CONTENT_TYPES_NAME, CODE_INTEGRITY_NAME}
BLOCK_SIZE = 64 * 1024
MAX_XML = 8 * 1024 * 1024

HASH_METHODS: dict[str, str] = {
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}
BLOCKMAP_NS = "http://schemas.microsoft.com/appx/2010/blockmap"


def parse_xml(data: bytes, what: str) -> ElementTree.Element:
    """Parse a small XML file; DTDs are refused outright (entity expansion and external entities)."""
    if len(data) > MAX_XML:
        raise HostileInput(f"{what} is {len(data)} bytes; the limit is {MAX_XML}")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise HostileInput(f"{what} contains a DTD; refused (entity expansion)")
    try:
        return ElementTree.fromstring(data)  # noqa: S314 - DTDs refused above, so no entity expansion
    except ElementTree.ParseError as error:
        raise MalformedPackage(f"{what} is not well-formed XML: {error}") from None


# ---------------------------------------------------------------- digest blob


def compute_digests(view: ZipView, algorithm: str) -> dict[str, bytes]:
    """Recompute every APPX digest component of an archive whose last entry is the signature."""
    signature = view.get(SIGNATURE_NAME)
    if signature is None:
        raise MalformedPackage(f"{SIGNATURE_NAME} is missing")
    kept = [e for e in sorted(view.entries, key=lambda e: e.local_offset) if e.name != SIGNATURE_NAME]
    axpc = hashlib.new(algorithm)
    for entry in kept:
        axpc.update(memoryview(view.data)[entry.local_offset : entry.record_end])
    digests = {"AXPC": axpc.digest(), "AXCD": hashlib.new(algorithm, _rewritten_directory(view, signature)).digest()}
    digests["AXCT"] = hashlib.new(algorithm, view.read(CONTENT_TYPES_NAME, MAX_XML)).digest()
    digests["AXBM"] = hashlib.new(algorithm, view.read(BLOCKMAP_NAME, MAX_XML)).digest()
    if view.get(CODE_INTEGRITY_NAME) is not None:
        digests["AXCI"] = hashlib.new(algorithm, view.read(CODE_INTEGRITY_NAME, 16 * 1024 * 1024)).digest()
    return digests


def _rewritten_directory(view: ZipView, signature: ZipEntry) -> bytes:
    raw_cd = view.raw_central_directory()
    cd = raw_cd[: signature.cd_offset] + raw_cd[signature.cd_offset + signature.cd_length :]
    kept_records = sum(e.record_end - e.local_offset for e in view.entries if e.name != SIGNATURE_NAME)
    count = view.eocd.entries - 1
    out = bytearray(cd)
    if view.eocd.zip64_record is not None and view.eocd.zip64_locator is not None:
        record = bytearray(view.eocd.zip64_record)
        struct.pack_into("<QQQQ", record, 24, count, count, len(cd), kept_records)
        out += record
        locator = bytearray(view.eocd.zip64_locator)
        struct.pack_into("<Q", locator, 8, kept_records + len(cd))
        out += locator
    eocd = view.eocd.raw
    _, _, _, n_disk, n_total, cd_size, cd_offset, comment_len = struct.unpack_from("<4sHHHHIIH", eocd, 0)
    out += struct.pack(
        "<4sHHHHIIH",
        b"PK\x05\x06",
        0,
        0,
        0xFFFF if n_disk == 0xFFFF else count,
        0xFFFF if n_total == 0xFFFF else count,
        0xFFFFFFFF if cd_size == 0xFFFFFFFF else len(cd),
        0xFFFFFFFF if cd_offset == 0xFFFFFFFF else kept_records,
        comment_len,
    )
    out += eocd[22:]
    return bytes(out)


def parse_digest_blob(blob: bytes, digest_size: int) -> dict[str, bytes]:
    if blob[:4] != b"APPX":
        raise MalformedPackage("signed APPX digest blob does not start with 'APPX'")
    parts: dict[str, bytes] = {}
    pos = 4
    while pos < len(blob):
        tag = blob[pos : pos + 4].decode("ascii", "replace")
        value = blob[pos + 4 : pos + 4 + digest_size]
        if tag not in ("AXPC", "AXCD", "AXCT", "AXBM", "AXCI") or len(value) != digest_size:
            raise MalformedPackage(f"unknown or truncated APPX digest component {tag!r}")
        if tag in parts:
            raise MalformedPackage(f"duplicate APPX digest component {tag}")
        parts[tag] = value
        pos += 4 + digest_size
    for required in ("AXPC", "AXCD", "AXCT", "AXBM"):
        if required not in parts:
            raise MalformedPackage(f"signed APPX digest lacks {required}")
    return parts


# ---------------------------------------------------------------- block map


@dataclass(frozen=True)
class BlockMap:
    hash_method: str  # hashlib name
    files: dict[str, tuple[int, int | None, list[bytes]]]  # name -> (size, lfh size, block hashes)


def parse_blockmap(data: bytes) -> BlockMap:
    root = parse_xml(data, BLOCKMAP_NAME)
    if root.tag != f"{{{BLOCKMAP_NS}}}BlockMap":
        raise MalformedPackage("AppxBlockMap.xml has an unexpected root element")
    method_uri = root.get("HashMethod", "")
    if method_uri not in HASH_METHODS:
        raise MalformedPackage(f"block map hash method {method_uri!r} is not supported")
    files: dict[str, tuple[int, int | None, list[bytes]]] = {}
    for element in root.findall(f"{{{BLOCKMAP_NS}}}File"):
        name = (element.get("Name") or "").replace("\\", "/")
        if not name or name in files:
            raise BlockMapMismatch(f"empty or duplicate file name {name!r}", file_name=name)
        try:
            size = int(element.get("Size", ""))
            lfh = int(element.get("LfhSize")) if element.get("LfhSize") else None
            hashes = [
                base64.b64decode(b.get("Hash", ""), validate=True) for b in element.findall(f"{{{BLOCKMAP_NS}}}Block")
            ]
        except ValueError:
            raise BlockMapMismatch(f"malformed entry for {name!r}", file_name=name) from None
        files[name] = (size, lfh, hashes)
    return BlockMap(HASH_METHODS[method_uri], files)


def check_blockmap(
    view: ZipView, blockmap: BlockMap, sinks: dict[str, Callable[[bytes], object]] | None = None
) -> None:
    """Every payload file listed once, with its size and every 64 KiB block hash; `sinks` receive file content."""
    payload = {e.name for e in view.entries if e.name not in FOOTPRINT and not e.name.endswith("/")}
    listed = set(blockmap.files)
    if missing := sorted(payload - listed):
        raise BlockMapMismatch(f"files missing from the block map: {missing}", file_name=missing[0])
    if extra := sorted(listed - payload):
        raise BlockMapMismatch(f"block map lists files that are not in the package: {extra}", file_name=extra[0])
    for name, (size, lfh, hashes) in blockmap.files.items():
        entry = view.get(name)
        assert entry is not None
        if entry.uncompressed_size != size:
            raise BlockMapMismatch(
                f"{name}: size {entry.uncompressed_size} but the block map says {size}", file_name=name
            )
        if lfh is not None and lfh != entry.local_header_size:
            raise BlockMapMismatch(f"{name}: local header size differs from the block map", file_name=name)
        if len(hashes) != (size + BLOCK_SIZE - 1) // BLOCK_SIZE:
            raise BlockMapMismatch(f"{name}: {len(hashes)} blocks listed for {size} bytes", file_name=name)
        sink = (sinks or {}).get(name)
        buffer = bytearray()
        index = 0
        for chunk in view.iter_content(entry):
            if sink is not None:
                sink(chunk)
            buffer += chunk
            while len(buffer) >= BLOCK_SIZE:
                _check_block(name, index, bytes(buffer[:BLOCK_SIZE]), hashes, blockmap.hash_method)
                del buffer[:BLOCK_SIZE]
                index += 1
        if buffer:
            _check_block(name, index, bytes(buffer), hashes, blockmap.hash_method)


def _check_block(name: str, index: int, block: bytes, hashes: list[bytes], method: str) -> None:
    if hashlib.new(method, block).digest() != hashes[index]:
        raise BlockMapMismatch(f"{name}: block {index} does not match its hash", file_name=name)


# ---------------------------------------------------------------- identity


@dataclass(frozen=True)
class PackageIdentity:
    name: str
    publisher: str
    version: str
    architecture: str | None

    @property
    def family_name(self) -> str:
        return f"{self.name}_{publisher_id(self.publisher)}"


def parse_identity(data: bytes) -> PackageIdentity:
    root = parse_xml(data, MANIFEST_NAME)
    if root.tag.rsplit("}", 1)[-1] != "Package":
        raise MalformedPackage("AppxManifest.xml root is not <Package> (bundles are not accepted)")
    for child in root:
        if child.tag.rsplit("}", 1)[-1] == "Identity":
            name, publisher, version = child.get("Name"), child.get("Publisher"), child.get("Version")
            if not name or not publisher or not version:
                raise MalformedPackage("AppxManifest.xml <Identity> lacks Name, Publisher or Version")
            return PackageIdentity(name, publisher, version, child.get("ProcessorArchitecture"))
    raise MalformedPackage("AppxManifest.xml has no <Identity>")


_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def publisher_id(publisher: str) -> str:
    """The 13-character publisher id of a package family name (reference §4.5)."""
    digest = hashlib.sha256(publisher.encode("utf-16-le")).digest()[:8]
    bits = int.from_bytes(digest, "big") << 1  # 64 bits padded with one zero bit to 65
    return "".join(_CROCKFORD[(bits >> (60 - 5 * i)) & 0x1F] for i in range(13))
