"""A fast local Twilio-style SMS endpoint for the benchmarks: ``python -m bench.sms_sink PORT``.

Answers every POST with 201 and a ``sid`` (one connection per request, as the SMS channel opens
one), and ``GET /count`` with how many POSTs it took. Runs in its own process so it does not share
the measured process's GIL.
"""

from __future__ import annotations

import asyncio
import sys

received = 0


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    global received
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method = lines[0].split(" ", 1)[0]
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length:
            await reader.readexactly(length)
        if method == "POST":
            received += 1
            status, body = "201 Created", f'{{"sid": "SM{received:032d}", "status": "queued"}}'
        else:
            status, body = "200 OK", str(received)
        data = body.encode()
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            f"Connection: close\r\n\r\n".encode()
            + data
        )
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
