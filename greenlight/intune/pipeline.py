"""The `package_and_upload` step in one call: a mapped plan + the staged installer stream → a published app.

The content holds the installer (streamed; its size and CRC-32 come from staging) and the plan's small scripts
(uninstall via ARP, MSIX or portable install), all with fixed timestamps so every attempt produces the same
plaintext and a retry can resume the upload.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO

from greenlight.intune.builder import ContentBuild, member_from_stream
from greenlight.intune.crypto import ContentKeys
from greenlight.intune.mapping import Win32AppPlan
from greenlight.intune.upload import Checkpoint, PublishedApp, Win32AppPublisher
from greenlight.intune.zipstream import StoredZip, ZipMember


def _bytes_member(name: str, data: bytes) -> ZipMember:
    return member_from_stream(name, len(data), lambda: io.BytesIO(data))


def content_for(
    plan: Win32AppPlan, open_installer: Callable[[], BinaryIO], size: int, crc32: int | None = None
) -> Callable[[ContentKeys], ContentBuild]:
    """A factory of identical builds (one per attempt) for the plan's installer and scripts."""

    def make(keys: ContentKeys) -> ContentBuild:
        members = [member_from_stream(plan.setup_file, size, open_installer, crc32=crc32)]
        members += [_bytes_member(name, data) for name, data in sorted(plan.extra_files.items())]
        return ContentBuild(StoredZip(members), keys)

    return make


async def publish_plan(
    publisher: Win32AppPublisher,
    plan: Win32AppPlan,
    open_installer: Callable[[], BinaryIO],
    size: int,
    *,
    crc32: int | None = None,
    checkpoint: Checkpoint | None = None,
) -> PublishedApp:
    return await publisher.publish(plan.body, plan.marker, content_for(plan, open_installer, size, crc32), checkpoint)
