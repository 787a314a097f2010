"""The `package_and_upload` step in one call: a mapped plan + the staged installer stream → a published app.

The content holds the installer (streamed; its size and CRC-32 come from staging) and the plan's small scripts
(uninstall via ARP, MSIX or portable install), all with fixed timestamps so every attempt produces the same
plaintext and a retry can resume the upload.

The installer comes first and is framed with a data descriptor, so the bytes around it do not depend on its
CRC-32: the staging step hashes this very archive (`inner_zip`) while the installer downloads, and packaging then
takes that digest instead of hashing a gigabyte of plaintext a second time.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from greenlight.intune.builder import ContentBuild, member_from_stream
from greenlight.intune.crypto import ContentKeys
from greenlight.intune.errors import ContentSourceError
from greenlight.intune.mapping import Win32AppPlan
from greenlight.intune.upload import Checkpoint, PublishedApp, Win32AppPublisher
from greenlight.intune.zipstream import StoredZip, ZipMember


@dataclass(frozen=True)
class KnownDigest:
    """The inner zip's SHA-256 as staging computed it, and the fingerprint of the archive around the installer
    it was computed for (`StoredZip.frame_sha256`): used only while the plan still frames the installer alike."""

    sha256: str
    frame_sha256: str


def _bytes_member(name: str, data: bytes) -> ZipMember:
    return member_from_stream(name, len(data), lambda: io.BytesIO(data))


def _not_read() -> BinaryIO:
    raise ContentSourceError("the installer is not read when only the archive's frame is needed")


def inner_zip(
    plan: Win32AppPlan, size: int, open_installer: Callable[[], BinaryIO] = _not_read, crc32: int | None = None
) -> StoredZip:
    """The plan's inner zip: the installer first (framed, see above), then the scripts in name order."""
    members = [member_from_stream(plan.setup_file, size, open_installer, crc32=crc32, framed=True)]
    members += [_bytes_member(name, data) for name, data in sorted(plan.extra_files.items())]
    return StoredZip(members)


def content_for(
    plan: Win32AppPlan,
    open_installer: Callable[[], BinaryIO],
    size: int,
    crc32: int | None = None,
    known: KnownDigest | None = None,
) -> Callable[[ContentKeys], ContentBuild]:
    """A factory of identical builds (one per attempt) for the plan's installer and scripts."""

    def make(keys: ContentKeys) -> ContentBuild:
        archive = inner_zip(plan, size, open_installer, crc32)
        digest = None
        if known is not None and crc32 is not None and archive.frame_sha256(crc32) == known.frame_sha256:
            digest = bytes.fromhex(known.sha256)
        return ContentBuild(archive, keys, plaintext_sha256=digest)

    return make


async def publish_plan(
    publisher: Win32AppPublisher,
    plan: Win32AppPlan,
    open_installer: Callable[[], BinaryIO],
    size: int,
    *,
    crc32: int | None = None,
    known: KnownDigest | None = None,
    checkpoint: Checkpoint | None = None,
) -> PublishedApp:
    content = content_for(plan, open_installer, size, crc32, known)
    return await publisher.publish(plan.body, plan.marker, content, checkpoint)
