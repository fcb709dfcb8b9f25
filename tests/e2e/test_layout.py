"""Layout as Chromium draws it: small screens, live regions (WCAG 2.2)."""

import datetime as dt

import pytest

from cases.actions.notifications import do_send_deadline_notices
from cases.models import Deadline
from consult.models import User
from tests.e2e.conftest import Tab
from tests.helpers import make_authority, make_case, make_user

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
OVERFLOW = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"


def supervisor_with_a_deadline() -> User:
    fr_mj, de_bfj = make_authority("FR-MJ", "FR"), make_authority("DE-BFJ", "DE")
    supervisor = make_user(fr_mj, User.Role.SUPERVISOR, email="superviseure@fr-mj.example")
    case = make_case(make_user(fr_mj), de_bfj)
    Deadline.objects.create(case=case, label="Audience", due=dt.date.today() + dt.timedelta(days=2))
    do_send_deadline_notices()
    return supervisor


def in_french(tab: Tab) -> None:
    tab.page.context.add_cookies([{"name": "django_language", "value": "fr", "url": tab.base}])


def test_phone__a_supervisors_pages_do_not_scroll_sideways(open_tab) -> None:  # type: ignore[no-untyped-def]
    """At 360 px the five links of a supervisor wrap, in English and in (longer) French."""
    supervisor = supervisor_with_a_deadline()
    for french in (False, True):
        tab = open_tab(supervisor, viewport=PHONE)
        if french:
            in_french(tab)
        for path in ("/cases/", "/threads/", "/keys/", "/records-key/", "/statistics/", "/notifications/"):
            tab.goto(path)
            assert tab.page.locator("nav ul li").count() == 5
            scroll_width, client_width = tab.page.evaluate(OVERFLOW)
            assert scroll_width <= client_width, (path, french, scroll_width, client_width)
        assert tab.csp_violations() == [] and tab.errors == []


def test_live_regions__rendered_while_empty(open_tab) -> None:  # type: ignore[no-untyped-def]
    """Empty status and alert lines are in the layout (with no height), so their first text is announced."""
    officer = make_user(make_authority("FR-MJ", "FR"))
    case = make_case(officer, make_authority("DE-BFJ", "DE"))
    tab = open_tab(officer)
    tab.goto(f"/cases/{case.pk}/")
    tab.page.wait_for_selector("#threads-status[data-tone]")  # the page's script has said its piece
    tab.page.locator("#threads-status").evaluate("(e) => { e.textContent = ''; }")  # as say(status, '') leaves it
    for region in ("#threads-status", "#new-thread-error"):  # role=status, role=alert
        display, visibility, height, text = tab.page.locator(region).evaluate(
            "(e) => { const s = getComputedStyle(e);"
            " return [s.display, s.visibility, e.getBoundingClientRect().height, e.textContent]; }"
        )
        assert (display, visibility, height, text) == ("block", "visible", 0, ""), region
    tab.page.click("#new-thread button[type=submit]")  # no subject: the alert gets its text
    assert tab.page.locator("#new-thread-error").inner_text() != ""
