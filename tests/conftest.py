"""Test set-up: real services where a test is marked for them.

A test marked ``postgres``, ``redis`` or ``browser`` (Chromium) skips with a clear reason when the
service is not configured — unless ``COMITY_REQUIRE_SERVICES=1`` (CI), where
it fails instead, so a missing service can never turn into a green run.
"""

import os
import shutil
import socket
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection

REQUIRE_SERVICES = os.environ.get("COMITY_REQUIRE_SERVICES") == "1"
CHROMIUM = os.environ.get("COMITY_CHROMIUM", "/usr/bin/chromium")


def _missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (COMITY_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _services(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("needs PostgreSQL: set DATABASE_URL=postgresql://…")
    if request.node.get_closest_marker("browser") and not shutil.which(CHROMIUM):
        _missing(f"needs Chromium at {CHROMIUM}: apt-get install chromium (or set COMITY_CHROMIUM)")
    if request.node.get_closest_marker("redis"):
        if not settings.REDIS_URL or not _reachable(settings.REDIS_URL, 6379):
            _missing("needs Redis: set REDIS_URL=redis://…")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    """Hashing strength is Django's concern; tests need speed, not 600k rounds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def _short_lived_connections() -> None:
    """In-process sockets use a pool of database threads; without persistent
    connections each returns its connection after every call, so none is left
    open when the test database is dropped."""
    from django.db import connections

    connections.settings["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture(autouse=True)
def _close_worker_connections() -> Iterator[None]:
    """A socket test that ends with sockets still open leaves its event loop's own
    connection (consult.lib.async_db) behind; close it before the next test, so
    none is open when the test database is dropped."""
    yield
    from consult.lib import async_db

    async_db.close_all_now()
