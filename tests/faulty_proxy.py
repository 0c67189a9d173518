"""A small TCP proxy on loopback that loses requests, loses responses and stalls connections,
standing for the 3G link between a phone and the county server."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

FAULTS = ("pass", "drop_request", "drop_response", "stall")


class FaultyProxy:
    def __init__(self, upstream_port: int, weights: dict[str, float], seed: int = 1):
        self.upstream_port = upstream_port
        self.weights = weights
        self.rng = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server:
            self.server.close()
            await self.server.wait_closed()

    def heal(self) -> None:
        self.weights = {"pass": 1.0}

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fault = self.rng.choices(list(self.weights), list(self.weights.values()))[0]
        self.injected[fault] += 1
        try:
            if fault == "drop_request":
                await reader.read(65536)  # the bytes leave the phone and die on the way
                return
            if fault == "stall":
                await asyncio.sleep(30)
                return
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.upstream_port
            )
            forward = asyncio.create_task(_pipe(reader, upstream_writer))
            if fault == "drop_response":
                # The server gets the whole request and answers; the answer never arrives.
                response = await upstream_reader.read(65536)
                while response and b"\r\n\r\n" not in response:
                    response += await upstream_reader.read(65536)
                forward.cancel()
                upstream_writer.close()
                return
            backward = asyncio.create_task(_pipe(upstream_reader, writer))
            await asyncio.wait({forward, backward}, return_when=asyncio.FIRST_COMPLETED)
            forward.cancel()
            backward.cancel()
            upstream_writer.close()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
