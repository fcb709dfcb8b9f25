"""The baseline: a bare Channels consumer that only ``group_send``s.

Served by daphne exactly like Comity (``daphne bench.bare:application``) on
one of channels_redis's stock layers, chosen by ``BENCH_LAYER`` (``core`` or
``pubsub``). It stores, checks and signs nothing: it is the framework's own
fan-out path, the bar Comity's delivery is measured against.
"""

import os
from typing import Any
from urllib.parse import parse_qs

import django
from django.conf import settings

LAYERS = {"core": "channels_redis.core.RedisChannelLayer", "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer"}

if not settings.configured:
    settings.configure(
        INSTALLED_APPS=["channels"],
        ALLOWED_HOSTS=["*"],
        SECRET_KEY="bench-only",  # noqa: S106 - a throwaway process with no sessions
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": LAYERS[os.environ.get("BENCH_LAYER", "pubsub")],
                "CONFIG": {"hosts": [{"address": os.environ["REDIS_URL"], "socket_timeout": None}]},
            }
        },
    )
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class BareConsumer(AsyncWebsocketConsumer):
    """Joins the group named in the query string; relays every text frame to it."""

    async def connect(self) -> None:
        self.group = "bench." + parse_qs(self.scope["query_string"].decode())["group"][0]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.channel_layer.group_send(self.group, {"type": "relay", "text": text_data})

    async def relay(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


application = ProtocolTypeRouter({"websocket": URLRouter([path("ws/", BareConsumer.as_asgi())])})
