"""Upload encrypted content to the SAS URL Intune hands out: Put Block (6 MiB, several in flight), Put Block List.

Layout: the ciphertext goes up as numbered blocks 1..n while it is produced; the 48-byte header (mac ‖ iv), known only
at the end, goes up last as block 0, and the block list names 0, 1..n — the list, not the upload order, defines the
blob. Block ids are base64 of `gl{build identity}{index:06d}`: fixed length (Azure requires it) and tied to the
content keys and the archive plan, so a resumed upload reuses only blocks that the same keys and the same
plaintext layout produced, never a block of another attempt.

Memory: each block is encrypted into a reused buffer — the one copy of its bytes — and sent as slices of it; the
buffer goes back to a pool the moment its Put Block is answered, whatever httpx objects are still alive. At most
MAX_BLOCK_BUFFERS blocks are held (on their way or being filled; fewer if `in_flight` + 1 is smaller), so memory
is bounded whatever `in_flight` says: 6 MiB blocks, 24 MiB of buffers.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import random
import threading
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import httpx

from greenlight.graph.client import retry_after_seconds
from greenlight.intune.builder import ContentBuild
from greenlight.intune.crypto import EncryptionInfo
from greenlight.intune.errors import UploadError

log = logging.getLogger(__name__)
BLOCK_SIZE = 6 * 1024 * 1024
MAX_BLOCK_BUFFERS = 4  # blocks held at once (sending + the one being filled), whatever in_flight says: 24 MiB
RETRYABLE = {408, 429, 500, 502, 503, 504}
_SLICE = 256 * 1024  # what the body hands httpx at a time (it copies each slice once more into TLS records)


class SasSource(Protocol):
    """Where the current SAS URL comes from, and how to get a fresh one (Graph renewUpload)."""

    async def current(self) -> tuple[str, dt.datetime]: ...

    async def renew(self, stale_url: str) -> tuple[str, dt.datetime]: ...


@dataclass
class UploadStats:
    blocks_uploaded: int = 0
    blocks_reused: int = 0
    bytes_uploaded: int = 0
    retries: int = 0
    renewals: int = 0


def block_id(prefix: str, index: int) -> str:
    return base64.b64encode(f"{prefix}{index:06d}".encode()).decode()


class _BlockBody:
    """One request's body: slices of the block's buffer, no copy. It lets go of the buffer as soon as it has
    been read, so a request or response object kept alive (until a collection, or in an exception) holds
    nothing big."""

    def __init__(self, data: memoryview) -> None:
        self._data: memoryview | None = data

    async def __aiter__(self) -> AsyncIterator[memoryview]:
        data, self._data = self._data, None
        if data is None:
            raise RuntimeError("a block body is sent once; each attempt makes its own")
        for start in range(0, len(data), _SLICE):
            yield data[start : start + _SLICE]


class _CiphertextCursor:
    """Copies the encrypted stream into block buffers; keeps the part of a chunk that did not fit.

    `fill` runs in a worker thread that a cancelled upload cannot stop, so `close` waits for it (the lock) instead
    of closing the generator under it ("generator already executing" would replace the cancellation)."""

    def __init__(self, chunks: Iterator[memoryview]) -> None:
        self.chunks = chunks
        self._pending = memoryview(b"")
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            close = getattr(self.chunks, "close", None)
            if close is not None:
                close()

    def fill(self, buffer: bytearray) -> int:
        """Fill `buffer` (the last block: partly); 0 at the end. Runs in a worker thread."""
        with self._lock:
            return self._fill(buffer)

    def _fill(self, buffer: bytearray) -> int:
        view = memoryview(buffer)
        filled = 0
        while filled < len(view):
            if not self._pending:
                chunk = next(self.chunks, None)
                if chunk is None:
                    break
                self._pending = chunk
            count = min(len(self._pending), len(view) - filled)
            view[filled : filled + count] = self._pending[:count]
            self._pending = self._pending[count:]
            filled += count
        return filled


class BlockUploader:
    def __init__(
        self,
        http: httpx.AsyncClient,
        sas: SasSource,
        *,
        block_size: int = BLOCK_SIZE,
        in_flight: int = 4,
        renew_margin: dt.timedelta = dt.timedelta(minutes=2),
        max_attempts: int = 8,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 1 <= in_flight <= 16:
            raise ValueError("in_flight must be between 1 and 16")
        self._http = http
        self._sas = sas
        self.block_size = block_size
        self._in_flight = in_flight
        self._margin = renew_margin
        self._max_attempts = max_attempts
        self._sleep = sleep
        self.stats = UploadStats()

    async def _url(self) -> str:
        url, expires = await self._sas.current()
        if expires - dt.datetime.now(dt.UTC) <= self._margin:
            self.stats.renewals += 1
            url, expires = await self._sas.renew(url)
        return url

    async def _call(self, method: str, query: str, content: bytes | memoryview | None = None) -> httpx.Response:
        """One blob call with retries: connection drops, 5xx/429 (Retry-After), and 403 from an expired SAS."""
        for attempt in range(1, self._max_attempts + 1):
            url = await self._url()
            headers = {"x-ms-version": "2016-05-31"}
            body: bytes | _BlockBody | None = None
            if isinstance(content, memoryview):
                body = _BlockBody(content)
                headers["Content-Length"] = str(len(content))
            else:
                body = content
            try:
                response = await self._http.request(method, f"{url}&{query}", content=body, headers=headers)
            except httpx.TransportError as error:
                log.info("blob %s failed (%s); retry %d", query.split("&")[0], type(error).__name__, attempt)
            else:
                if response.status_code < 300:
                    return response
                code = response.headers.get("x-ms-error-code", "")
                if response.status_code == 403 and code == "AuthenticationFailed":
                    self.stats.renewals += 1
                    await self._sas.renew(url)
                    continue
                if response.status_code not in RETRYABLE:
                    raise UploadError(f"blob {query.split('&')[0]} answered {response.status_code} {code}")
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                if wait is not None:
                    self.stats.retries += 1
                    await self._sleep(min(wait, 60.0))
                    continue
            self.stats.retries += 1
            await self._sleep(random.uniform(0, min(10.0, 0.25 * 2**attempt)))  # noqa: S311 - jitter
        raise UploadError(f"blob {query.split('&')[0]} failed after {self._max_attempts} attempts")

    async def existing_blocks(self) -> dict[str, int]:
        """Blocks already on the blob (committed or not) → their sizes."""
        response = await self._call("GET", "comp=blocklist&blocklisttype=all")
        root = ET.fromstring(response.content)  # noqa: S314 - response from the SAS host, no entity expansion
        return {
            block.findtext("Name", ""): int(block.findtext("Size", "0"))
            for block in root.iter("Block")
            if block.findtext("Name")
        }

    async def put_block(self, block: str, data: bytes | memoryview) -> None:
        await self._call("PUT", f"comp=block&blockid={quote(block, safe='')}", data)
        self.stats.blocks_uploaded += 1
        self.stats.bytes_uploaded += len(data)

    async def put_block_list(self, blocks: list[str]) -> None:
        body = '<?xml version="1.0" encoding="utf-8"?><BlockList>'
        body += "".join(f"<Latest>{b}</Latest>" for b in blocks) + "</BlockList>"
        await self._call("PUT", "comp=blocklist", body.encode())

    async def upload(self, build: ContentBuild) -> EncryptionInfo:
        """Stream `build` to the blob and commit the block list; returns the encryption info for Graph's commit."""
        prefix = "gl" + build.identity()
        existing = await self.existing_blocks()
        chunks = build.ciphertext_views()
        cursor = _CiphertextCursor(chunks)
        buffers = min(self._in_flight + 1, MAX_BLOCK_BUFFERS)
        free: asyncio.Queue[bytearray] = asyncio.Queue()
        for _ in range(buffers):  # allocated here, reused for every block
            free.put_nowait(bytearray(self.block_size))
        slots = asyncio.Semaphore(self._in_flight)
        tasks: set[asyncio.Task[None]] = set()
        ids = [block_id(prefix, 0)]
        errors: list[BaseException] = []

        async def send(block: str, buffer: bytearray, size: int) -> None:
            try:
                await self.put_block(block, memoryview(buffer)[:size])
            except Exception as error:  # noqa: BLE001 - re-raised by the producer loop below
                errors.append(error)
            finally:
                free.put_nowait(buffer)
                slots.release()

        try:
            while True:
                buffer = await free.get()
                size = await asyncio.to_thread(cursor.fill, buffer)
                if errors:
                    raise errors[0]
                if not size:
                    break
                block = block_id(prefix, len(ids))
                ids.append(block)
                if existing.get(block) == size:
                    self.stats.blocks_reused += 1
                    free.put_nowait(buffer)
                    continue
                await slots.acquire()
                task = asyncio.create_task(send(block, buffer, size))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)
            if errors:
                raise errors[0]
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            await asyncio.to_thread(cursor.close)
        info = build.info
        if existing.get(ids[0]) != len(info.header):
            await self.put_block(ids[0], info.header)
        await self.put_block_list(ids)
        return info
