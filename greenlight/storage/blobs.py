"""Blob containers of ARCHITECTURE §5 and a streaming upload helper (installers never sit in memory whole)."""

from __future__ import annotations

import base64
from collections.abc import Iterable

from azure.storage.blob import BlobClient

from greenlight.storage.account import StorageAccount
from greenlight.storage.keys import translated

STAGING_CONTAINER = "staging"  # installers and encrypted .intunewin content
WINGET_CACHE_CONTAINER = "winget-cache"  # source2.msix and the extracted index

BLOCK_SIZE = 4 * 1024 * 1024


class StagingArea:
    """Blobs in the staging container, uploaded block by block from a stream of chunks."""

    def __init__(self, account: StorageAccount, container: str = STAGING_CONTAINER) -> None:
        self._container = account.container(container)

    def blob(self, name: str) -> BlobClient:
        return self._container.get_blob_client(name)

    def upload_stream(self, name: str, chunks: Iterable[bytes], block_size: int = BLOCK_SIZE) -> int:
        """Stage `chunks` as blocks of at most `block_size` bytes, then commit them; returns the byte count.
        Nothing is visible under `name` until the final commit, so a failure leaves no half-written blob."""
        blob = self.blob(name)
        block_ids: list[str] = []
        buffer = bytearray()
        total = 0

        def flush() -> None:
            block_id = base64.b64encode(f"{len(block_ids):08d}".encode()).decode()
            with translated(f"stage block of {name}"):
                blob.stage_block(block_id, bytes(buffer))
            block_ids.append(block_id)
            buffer.clear()

        for chunk in chunks:
            total += len(chunk)
            buffer.extend(chunk)
            while len(buffer) >= block_size:
                rest = buffer[block_size:]
                del buffer[block_size:]
                flush()
                buffer.extend(rest)
        if buffer or not block_ids:
            flush()
        with translated(f"commit {name}"):
            blob.commit_block_list(block_ids)
        return total

    def delete(self, name: str) -> None:
        with translated(f"delete {name}"):
            self.blob(name).delete_blob(delete_snapshots="include")
