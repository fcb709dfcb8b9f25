"""The second-factor gate covers every URL pattern, page, API and socket."""

import re
from collections.abc import Iterator

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from consult.asgi import application
from consult.middleware import OPEN_URL_NAMES
from tests.helpers import make_authority, make_user, verified_client

SAMPLE = {"str": "x", "int": "1", "uuid": "6f1c7d9e-0000-4000-8000-000000000001", "path": "x/y", "slug": "x"}


def _concrete(route: str) -> str:
    route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m.group(1) or "str", "x"), route)
    # Admin uses regex patterns: keep the literal prefix of each.
    route = route.lstrip("^").split("(?P")[0].split("$")[0].replace("\\Z", "").replace("\\", "")
    return route


def _walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, str | None]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + _concrete(str(entry.pattern)))
        elif isinstance(entry, URLPattern):
            yield "/" + prefix + _concrete(str(entry.pattern)), entry.name


ALL_ROUTES = sorted(set(_walk(get_resolver().url_patterns)), key=lambda r: (r[0], r[1] or ""))
GATED = [(path, name) for path, name in ALL_ROUTES if name not in OPEN_URL_NAMES and not path.startswith("/static/")]


def test_gate_walk__finds_every_kind_of_route() -> None:
    """The walk sees pages, the API and the admin, so a new view cannot slip past."""
    paths = [p for p, _ in GATED]
    assert any(p.startswith("/api/v1/") for p in paths)
    assert any(p.startswith("/admin/") for p in paths)
    assert any(p.startswith("/cases/") for p in paths)
    assert len(GATED) > 30


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "name"), GATED, ids=[f"{n}:{p}" for p, n in GATED])
def test_gate__refuses_every_route_before_second_factor(path: str, name: str) -> None:
    """Anonymous → sign-in (401 for the API); password-only → verification (403 for the API)."""
    anonymous = Client()
    user = make_user(make_authority(), email="gate@example.org")
    half = Client()
    half.force_login(user)  # password accepted, second factor not yet verified
    for client, page_target, api_status in ((anonymous, "/login/", 401), (half, "/login/verify/", 403)):
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            if path.startswith("/api/"):
                assert response.status_code == api_status, (method, path)
                assert response.json()["error"] in ("unauthenticated", "otp_required")
            else:
                assert response.status_code == 302, (method, path, response.status_code)
                assert response["Location"].startswith(page_target), (method, path)


@pytest.mark.django_db
def test_gate__open_pages_answer_before_verification() -> None:
    """Sign-in and its steps are reachable without a verified session."""
    assert Client().get("/login/").status_code == 200


@pytest.mark.django_db
def test_gate__verified_session_passes() -> None:
    client = verified_client(make_user(make_authority()))
    assert client.get("/cases/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_gate__socket_handshake_refused_before_second_factor() -> None:
    """The WebSocket endpoint refuses the handshake to anonymous and password-only sessions."""
    from channels.db import database_sync_to_async

    def half_signed_in_cookie() -> bytes:
        client = Client()
        client.force_login(make_user(make_authority()))
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    origin, host = (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")
    for headers in ([origin, host], [origin, host, (b"cookie", await database_sync_to_async(half_signed_in_cookie)())]):
        communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
        connected, _ = await communicator.connect()
        assert not connected
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_gate__socket_accepts_verified_session() -> None:
    from channels.db import database_sync_to_async

    from tests.realtime import make_peer

    def verified_cookie() -> tuple[bytes, str]:
        peer = make_peer(make_user(make_authority()))
        client = verified_client(peer.user)
        return f"sessionid={client.cookies['sessionid'].value}".encode(), peer.device.id

    cookie, device = await database_sync_to_async(verified_cookie)()
    communicator = WebsocketCommunicator(
        application,
        f"/ws/?device={device}",
        headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie)],
    )
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from()
    assert hello["type"] == "hello"
    await communicator.disconnect()
