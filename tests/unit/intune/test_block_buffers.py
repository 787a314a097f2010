"""The uploader's buffers: blocks are cut from the encrypted stream into reused buffers, and a request body lets go
of its buffer once read (the publish flow test covers the uploads themselves, on the sandbox)."""

from __future__ import annotations

import asyncio
import io
import threading

from greenlight.intune.blocks import _BlockBody, _CiphertextCursor
from greenlight.intune.builder import ContentBuild, member_from_stream, write_blob
from greenlight.intune.crypto import ContentKeys
from greenlight.intune.zipstream import StoredZip


def _build(keys: ContentKeys, data: bytes) -> ContentBuild:
    return ContentBuild(StoredZip([member_from_stream("s.exe", len(data), lambda: io.BytesIO(data))], 5000), keys)


def test_blocks_cut_from_the_stream_are_the_blob_after_its_header() -> None:
    keys, data = ContentKeys.generate(), bytes(range(256)) * 300
    expected = io.BytesIO()
    write_blob(_build(keys, data), expected)
    cursor = _CiphertextCursor(_build(keys, data).ciphertext_views())
    buffer, blocks = bytearray(7000), []
    while size := cursor.fill(buffer):  # one buffer reused for every block
        blocks.append(bytes(buffer[:size]))
    assert b"".join(blocks) == expected.getvalue()[48:]
    assert {len(block) for block in blocks[:-1]} == {7000}


def test_a_block_body_is_sent_as_slices_of_its_buffer_and_then_forgotten() -> None:
    buffer = bytearray(b"x" * 600_000)
    body = _BlockBody(memoryview(buffer)[:550_000])

    async def read() -> list[memoryview]:
        return [part async for part in body]

    parts = asyncio.run(read())
    assert sum(len(p) for p in parts) == 550_000 and all(isinstance(p, memoryview) for p in parts)
    assert body._data is None  # a request object that outlives the call holds no reference to the block


def test_closing_waits_for_a_fill_running_in_its_thread() -> None:
    """A cancelled upload closes the stream while a worker thread may still be filling a block: the close waits for
    that fill instead of failing with "generator already executing" (which would hide the cancellation)."""
    started, release = threading.Event(), threading.Event()

    def slow_chunks():
        yield memoryview(b"a" * 10)
        started.set()
        release.wait(5)
        yield memoryview(b"b" * 10)

    cursor = _CiphertextCursor(slow_chunks())
    filler = threading.Thread(target=cursor.fill, args=(bytearray(20),))
    filler.start()
    assert started.wait(5)
    closer = threading.Thread(target=cursor.close)
    closer.start()
    closer.join(0.2)
    assert closer.is_alive()  # waiting for the fill, not closing the generator under it
    release.set()
    filler.join(5)
    closer.join(5)
    assert not closer.is_alive()
