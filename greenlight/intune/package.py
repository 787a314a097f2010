"""Write a standard .intunewin file (what IntuneWinAppUtil writes) in one pass over the setup files.

Outer zip, both entries STORED, no directory entries, in this order:
  IntuneWinPackage/Contents/IntunePackage.intunewin   the encrypted blob (mac ‖ iv ‖ ciphertext)
  IntuneWinPackage/Metadata/Detection.xml
The blob's first 48 bytes and its CRC-32 are known only after the last byte, so the writer leaves placeholders,
then seeks back to patch them; the CRC of the final blob is derived with crc32_combine instead of re-reading it.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from greenlight.intune import detection_xml
from greenlight.intune.builder import ContentBuild
from greenlight.intune.crypto import HEADER_SIZE, ContentKeys
from greenlight.intune.detection_xml import ApplicationInfo
from greenlight.intune.errors import ContentSourceError
from greenlight.intune.msi import read_msi
from greenlight.intune.reader import CONTENTS_PREFIX, DETECTION_PATH
from greenlight.intune.zipstream import PlannedMember, ZipMember, crc32, end_records


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, row) for row in matrix]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A ‖ B from crc(A), crc(B) and len(B) (zlib's algorithm; Python's zlib does not expose it)."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << i for i in range(31)]  # operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


@dataclass(frozen=True)
class PackResult:
    path: Path
    application: ApplicationInfo


def output_name(setup_file: str) -> str:
    return PurePosixPath(setup_file.replace("\\", "/")).stem + ".intunewin"


def _unused(_: object = None) -> BinaryIO:
    raise AssertionError("headers only")


def write_intunewin(
    build: ContentBuild,
    setup_file: str,
    out: BinaryIO,
    *,
    name: str | None = None,
    msi_info: dict[str, str] | None = None,
) -> ApplicationInfo:
    """Stream `build` into a complete .intunewin written to the seekable `out`."""
    now = dt.datetime.now()
    blob_name = CONTENTS_PREFIX + detection_xml.PACKAGE_FILE_NAME
    blob_member = ZipMember(blob_name, build.encrypted_size, _unused, crc32=0, modified=now)
    blob_entry = PlannedMember(blob_member, blob_name.encode(), 0, build.encrypted_size >= 0xFFFFFFFF)
    start = out.tell()
    out.write(blob_entry.local_header())
    blob_start = out.tell()
    out.write(b"\0" * HEADER_SIZE)
    crc_rest = 0
    for chunk in build.ciphertext_views():
        crc_rest = crc32(chunk, crc_rest)
        out.write(chunk)
    info = build.info
    blob_crc = crc32_combine(zlib.crc32(info.header), crc_rest, build.encrypted_size - HEADER_SIZE)
    detection_offset = out.tell() - start
    out.seek(blob_start)
    out.write(info.header)
    out.seek(start)
    blob_member = ZipMember(blob_name, build.encrypted_size, _unused, crc32=blob_crc, modified=now)
    blob_entry = PlannedMember(blob_member, blob_name.encode(), 0, blob_entry.zip64)
    out.write(blob_entry.local_header())
    out.seek(start + detection_offset)

    application = ApplicationInfo(
        name=name or PurePosixPath(setup_file).name,
        unencrypted_content_size=build.unencrypted_size,
        setup_file=setup_file,
        encryption=info,
        msi_info=msi_info,
    )
    xml = detection_xml.render(application)
    xml_member = ZipMember(DETECTION_PATH, len(xml), _unused, crc32=zlib.crc32(xml), modified=now)
    xml_entry = PlannedMember(xml_member, DETECTION_PATH.encode(), detection_offset, detection_offset >= 0xFFFFFFFF)
    out.write(xml_entry.local_header())
    out.write(xml)
    central = blob_entry.central_header(blob_crc) + xml_entry.central_header(xml_member.crc32 or 0)
    out.write(central)
    out.write(end_records([blob_entry, xml_entry], out.tell() - start - len(central), len(central)))
    return application


def pack_folder(
    setup_folder: Path,
    setup_file: str,
    output_folder: Path,
    *,
    keys: ContentKeys | None = None,
    name: str | None = None,
    msi_info: dict[str, str] | None = None,
) -> PackResult:
    """IntuneWinAppUtil -c SETUP_FOLDER -s SETUP_FILE -o OUTPUT_FOLDER, on any OS."""
    setup_path = (setup_folder / setup_file).resolve()
    if not setup_path.is_file() or not setup_path.is_relative_to(setup_folder.resolve()):
        raise ContentSourceError(f"setup file {setup_file!r} is not a file inside {setup_folder}")
    relative = setup_path.relative_to(setup_folder.resolve()).as_posix()
    if msi_info is None and setup_path.suffix.lower() == ".msi":
        # As IntuneWinAppUtil does: MsiInfo from the MSI's tables, and its ProductName as the Name.
        _, msi_info, product_name = read_msi(setup_path)
        name = name or product_name
    build = ContentBuild.from_folder(setup_folder, keys)
    output_folder.mkdir(parents=True, exist_ok=True)
    target = output_folder / output_name(relative)
    partial = target.with_name(target.name + ".partial")
    try:
        with open(partial, "wb") as out:
            application = write_intunewin(build, relative, out, name=name, msi_info=msi_info)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return PackResult(target, application)
