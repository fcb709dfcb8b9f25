"""Comity's own settings, with namespaced defaults read lazily.

Read through ``comity_settings.NAME`` at call time, never at import time, so
tests can override them with ``django.test.override_settings``.
"""

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Account lockout (DESIGN §1): failures within the window before a lock.
    "COMITY_LOCKOUT_FAILURES": 10,
    "COMITY_LOCKOUT_WINDOW_SECONDS": 15 * 60,
    "COMITY_LOCKOUT_SECONDS": 15 * 60,
    # How long an enrolment link printed by ``add_user`` stays valid.
    "COMITY_ENROLMENT_LINK_SECONDS": 72 * 60 * 60,
    "COMITY_BACKUP_CODES": 10,
    # Base of links printed by management commands.
    "COMITY_BASE_URL": "http://127.0.0.1:8000",
}


class ComitySettings:
    """Attribute access to Comity settings with defaults."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        return getattr(settings, name, DEFAULTS[name])


comity_settings = ComitySettings()
