"""Gzip of whole answers in one call.

Litestar's compression opens a `GzipFile` (a zlib stream and its buffers) for every request
that accepts gzip, before it knows whether the answer is long enough to compress, and writes
through it. A phone's push answer arrives as one body: it is compressed here with one
`gzip.compress` call, or sent as it is when short. Streamed answers (files, downloads), cached
ones and other encodings are left to Litestar's own wrapper, unchanged.

Answers that are compressed already (workbooks are zip files, photos JPEG) go as they are:
gzip at level 9 over a month's 2 MB workbook cost ~80 ms of CPU to save nothing.

A long answer (a county dashboard lists every station: 130 KB, ~3 ms at level 9) is compressed
on a worker thread: zlib lets go of the GIL while it deflates, so the event loop serves the
phones' pushes meanwhile on the other core. Short answers (a push's) stay on the loop, where a
thread's hand-over would cost more than the compression.
"""

from __future__ import annotations

import asyncio
import gzip
from typing import Literal

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import CompressionEncoding
from litestar.middleware.compression import CompressionMiddleware
from litestar.types import HTTPResponseStartEvent, Message, Scope, Send
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

ALREADY_COMPRESSED = (
    b"application/vnd.openxmlformats-",  # .xlsx, .docx: zip files
    b"application/zip",
    b"application/gzip",
    b"image/jpeg",
    b"image/png",
    b"image/webp",
)


# Answers at least this long are compressed off the event loop.
OFF_LOOP_BYTES = 32 * 1024


async def gzipped(body: bytes, level: int) -> bytes:
    if len(body) >= OFF_LOOP_BYTES:
        return await asyncio.to_thread(gzip.compress, body, level, mtime=0)
    return gzip.compress(body, level, mtime=0)


def _already_compressed(start: HTTPResponseStartEvent) -> bool:
    for name, value in start.get("headers", ()):
        if name.lower() == b"content-type":
            return value.lower().startswith(ALREADY_COMPRESSED)
    return False


class WholeBodyGzipMiddleware(CompressionMiddleware):
    def create_compression_send_wrapper(
        self,
        send: Send,
        compression_encoding: Literal[CompressionEncoding.BROTLI, CompressionEncoding.GZIP] | str,
        scope: Scope,
    ) -> Send:
        if compression_encoding != CompressionEncoding.GZIP:
            return super().create_compression_send_wrapper(send, compression_encoding, scope)
        start: HTTPResponseStartEvent | None = None
        litestars: Send | None = None  # made only for an answer this one does not take

        async def send_wrapper(message: Message) -> None:
            nonlocal start, litestars
            if litestars is not None:
                await litestars(message)
                return
            if message["type"] == "http.response.start" and start is None:
                start = message
                return
            state = ScopeState.from_scope(scope)
            if (
                start is not None
                and message["type"] == "http.response.body"
                and not message.get("more_body", False)
                and not value_or_default(state.is_cached, False)
            ):
                body = message["body"]
                if len(body) >= self.config.minimum_size and not _already_compressed(start):
                    body = await gzipped(body, self.config.gzip_compress_level)
                    headers = MutableScopeHeaders(start)
                    headers["Content-Encoding"] = compression_encoding
                    headers["Content-Length"] = str(len(body))
                    headers.extend_header_value("vary", "Accept-Encoding")
                    message["body"] = body
                    state.response_compressed = True
                await send(start)
                await send(message)
                return
            litestars = super(WholeBodyGzipMiddleware, self).create_compression_send_wrapper(
                send, compression_encoding, scope
            )
            if start is not None:
                await litestars(start)
            await litestars(message)

        return send_wrapper
