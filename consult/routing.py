"""WebSocket routes: one socket per tab at ``/ws/`` (DESIGN §7)."""

from django.urls import path

from consult.consumers import ConsultConsumer

websocket_urlpatterns = [path("ws/", ConsultConsumer.as_asgi())]
