"""ASGI entry point: ``daphne consult.asgi:application`` serves HTTP and WebSocket."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consult.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: the routing imports models.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from consult.lib.body_limit import RequestBodyLimit  # noqa: E402
from consult.lib.ws_auth import VerifiedSessionMiddleware  # noqa: E402
from consult.lib.ws_origin import SameOriginValidator  # noqa: E402
from consult.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": RequestBodyLimit(django_asgi_app),
        "websocket": SameOriginValidator(VerifiedSessionMiddleware(URLRouter(websocket_urlpatterns))),
    }
)

# What a worker has built by now (modules, settings, URL patterns, models)
# lives as long as it. Frozen, it is left out of Python's full collections:
# under load those walked about 110,000 objects and paused the worker for
# 50-120 ms; with it frozen, 15-30 ms (docs/performance.md).
gc.freeze()
