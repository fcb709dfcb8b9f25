"""Comity's own settings, with namespaced defaults read lazily.

Read through ``comity_settings.NAME`` at call time, never at import time, so
tests can override them with ``django.test.override_settings``. Each value is
looked up once and kept until a setting changes (Django's ``setting_changed``
signal, which every override sends): several are read on every message, and
looking one up that the project does not set costs a failed attribute lookup
on Django's lazy settings each time.
"""

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    # Account lockout (DESIGN §1): failures within the window before a lock.
    "COMITY_LOCKOUT_FAILURES": 10,
    "COMITY_LOCKOUT_WINDOW_SECONDS": 15 * 60,
    "COMITY_LOCKOUT_SECONDS": 15 * 60,
    # How long an enrolment link printed by ``add_user`` stays valid.
    "COMITY_ENROLMENT_LINK_SECONDS": 72 * 60 * 60,
    "COMITY_BACKUP_CODES": 10,
    # The server's record-signing key (made on first use, mode 0600).
    "COMITY_SERVER_KEY_FILE": lambda: settings.BASE_DIR / "var" / "server-key.pem",
    # WebSocket limits (DESIGN §7): frame size, and a token bucket per socket.
    "COMITY_MAX_FRAME_BYTES": 256 * 1024,
    "COMITY_RATE_PER_SECOND": 50.0,
    "COMITY_RATE_BURST": 100,
    # Frames sent before the announced ``retry_after`` within the window, after
    # which the socket is closed as abusive.
    "COMITY_ABUSE_REFUSALS": 40,
    "COMITY_ABUSE_WINDOW_SECONDS": 10,
    # Epochs end after this many messages or this long (DESIGN §4).
    "COMITY_EPOCH_MAX_MESSAGES": 1000,
    "COMITY_EPOCH_MAX_SECONDS": 7 * 24 * 60 * 60,
    # The longest an invitation may run: a liaison is invited for a limited
    # time, and a far-off date (year 9999 in a western zone is past what the
    # database's timestamps hold once in UTC) would make it permanent.
    "COMITY_INVITATION_MAX_DAYS": 366,
    # How often an open socket asks the database whether its session, account,
    # device and memberships still hold, should the close event that ends it
    # at once have been lost (consult.actions.sessions.socket_lapse).
    "COMITY_SOCKET_RECHECK_SECONDS": 60.0,
    # How often each worker looks for expired liaison invitations.
    "COMITY_EXPIRY_SWEEP_SECONDS": 1.0,
    # Entries per page for catch-up and history.
    "COMITY_PAGE_ENTRIES": 500,
    # Encrypted file uploads (DESIGN §7 "POST blobs"): the largest ciphertext
    # accepted, and where blobs are kept (one file per blob, named by its id).
    "COMITY_MAX_BLOB_BYTES": 50 * 1024 * 1024,
    "COMITY_BLOB_DIR": lambda: settings.BASE_DIR / "var" / "blobs",
    # Base of links printed by management commands.
    "COMITY_BASE_URL": "http://127.0.0.1:8000",
}


_UNSET = object()


class ComitySettings:
    """Attribute access to Comity settings with defaults."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        if name not in self._values:
            value = getattr(settings, name, _UNSET)
            if value is _UNSET:
                default = DEFAULTS[name]
                value = default() if callable(default) else default
            self._values[name] = value
        return self._values[name]

    def forget(self, **_: Any) -> None:
        """Drop every value looked up (connected to ``setting_changed``)."""
        self._values.clear()


comity_settings = ComitySettings()
setting_changed.connect(comity_settings.forget)
