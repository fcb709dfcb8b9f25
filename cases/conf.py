"""Settings of the cases app, with namespaced defaults read lazily.

Read through ``cases_settings.NAME`` at call time, never at import time, so
tests can override them with ``django.test.override_settings``.
"""

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # ``run_deadlines`` notifies when this many days or fewer are left, once
    # per threshold and due date, and once more when a deadline has passed.
    "COMITY_DEADLINE_NOTICE_DAYS": (10, 3),
    # Rows per register page and per API answer.
    "COMITY_REGISTER_ROWS": 500,
    # Rows of the "overdue items" list on the statistics page.
    "COMITY_STATS_OVERDUE_ROWS": 50,
}


class CasesSettings:
    """Attribute access to the cases app's settings with defaults."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        return getattr(settings, name, DEFAULTS[name])


cases_settings = CasesSettings()
