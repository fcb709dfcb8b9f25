"""Which pages may open a WebSocket: the site's own, exactly as Django's CSRF check decides for forms.

Channels' ``AllowedHostsOriginValidator`` compares the Origin's host name
with ``ALLOWED_HOSTS`` alone, so a page on another port or scheme of an
allowed host (a monitoring UI on :3000, plain http) could open a socket with
the user's cookie. Here the Origin must be the socket's own origin (its
scheme, the Host it was asked on, and that Host allowed) or one of
``CSRF_TRUSTED_ORIGINS`` (a proxy that ends TLS: the page is https, the
socket reaches the worker as plain ws).
"""

from typing import Any

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host


def _allowed_hosts() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:  # as Django's HttpRequest.get_host
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def origin_allowed(scope: dict[str, Any]) -> bool:
    headers = dict(scope.get("headers", ()))
    origin = headers.get(b"origin", b"").decode("latin-1")
    host = headers.get(b"host", b"").decode("latin-1")
    if not origin or not host:
        return False
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    domain, _ = split_domain_port(host)
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    return bool(domain) and validate_host(domain, _allowed_hosts()) and origin == f"{scheme}://{host}"


class SameOriginValidator:
    """ASGI middleware: refuse the handshake of a socket opened from any other page."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier.as_asgi()(scope, receive, send)
        return await self.application(scope, receive, send)
