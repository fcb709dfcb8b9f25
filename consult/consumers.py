"""The WebSocket endpoint (DESIGN §7): a thin transport over consult.actions."""

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class ConsultConsumer(AsyncJsonWebsocketConsumer):
    """One socket per browser tab, for a signed-in, OTP-verified user."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not self.scope.get("otp_verified"):
            await self.close()  # before accept: the handshake is refused
            return
        await self.accept()
        await self.send_json({"type": "hello", "user": str(user.pk), "device": None})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
            return
        await self.send_json({"type": "error", "code": "bad_frame", "detail": "Unknown frame.", "ref": None})
