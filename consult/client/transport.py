"""A WebSocket connection to a Comity server (DESIGN §7), for tests, benchmarks and scripts.

It speaks the frames and nothing more: authentication is the session cookie
of a signed-in, OTP-verified account and the id of a certified device.
"""

import asyncio
import json
from typing import Any, Self

from websockets.asyncio.client import ClientConnection, connect


class Connection:
    """One socket: ``send`` frames as dicts, ``recv`` them back."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    @classmethod
    async def open(cls, base_url: str, session_cookie: str, device: str, origin: str | None = None) -> Self:
        """Connect to ``base_url`` (``http://host:port``) as ``device``; read the ``hello``."""
        ws_url = base_url.replace("http", "ws", 1).rstrip("/") + f"/ws/?device={device}"
        socket = await connect(
            ws_url,
            origin=origin or base_url.rstrip("/"),  # type: ignore[arg-type]
            additional_headers={"Cookie": f"sessionid={session_cookie}"},
            max_size=2**20,
            ping_interval=None,
        )
        connection = cls(socket)
        hello = await connection.recv()
        if hello.get("type") != "hello":
            raise ConnectionError(f"expected hello, got {hello}")
        return connection

    async def send(self, frame: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(frame, separators=(",", ":")))

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        text = await asyncio.wait_for(self.socket.recv(), timeout)
        frame: dict[str, Any] = json.loads(text)
        return frame

    async def recv_until(self, kind: str, timeout: float = 10, **match: Any) -> dict[str, Any]:
        """The next frame of ``kind`` whose fields equal ``match``, skipping others."""
        while True:
            frame = await self.recv(timeout)
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def close(self) -> None:
        await self.socket.close()
