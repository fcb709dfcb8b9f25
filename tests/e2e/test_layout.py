"""Layout as Chromium draws it: small screens, live regions, target sizes, the sticky composer (WCAG 2.2)."""

import datetime as dt
from itertools import pairwise
from typing import Any

import pytest

from cases.actions.notifications import do_send_deadline_notices
from cases.models import Deadline
from consult.models import User
from tests.e2e.conftest import Tab, open_thread, send_text, set_up_keys
from tests.e2e.test_consultation import two_ministries
from tests.helpers import make_authority, make_case, make_user

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
OVERFLOW = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
BOX = "(e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }"


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


def test_targets__text_buttons_are_at_least_24_px(open_tab) -> None:  # type: ignore[no-untyped-def]
    """The "Mark as read" and "Sign out" buttons look like links but keep a 24 x 24 px target (2.5.8)."""
    tab = open_tab(supervisor_with_a_deadline())
    tab.goto("/notifications/")
    for button in (tab.page.locator("main button.link").first, tab.page.locator(".account button.link")):
        _, _, width, height = button.evaluate(BOX)
        assert width >= 24 and height >= 24, (button, width, height)


# From the top of the page, the first message's last action that the composer covers (or that
# lies below the fold), scrolled to sit 4 px above the bottom of the viewport: under the composer.
UNDER_THE_COMPOSER = """(() => {
  for (const old of document.querySelectorAll('[data-probe]')) old.removeAttribute('data-probe');
  scrollTo(0, 0);
  const composerTop = document.getElementById('composer').getBoundingClientRect().top;
  const bars = [...document.querySelectorAll('#entries > li.message .entry-actions')];
  const bar = bars.find((b) => b.lastElementChild.getBoundingClientRect().bottom > composerTop);
  const target = bar.lastElementChild;
  target.setAttribute('data-probe', 'target');
  target.previousElementSibling.setAttribute('data-probe', 'before');
  const bottom = target.getBoundingClientRect().bottom;
  if (bottom > innerHeight - 4) scrollBy(0, bottom - innerHeight + 4);
})()"""


PADDING_AND_COMPOSER = """[parseFloat(getComputedStyle(document.documentElement).scrollPaddingBottom),
  document.getElementById('composer').getBoundingClientRect().height]"""


def _boxes(tab: Tab, selector: str) -> list[list[float]]:
    return list(tab.page.locator(selector).evaluate_all(f"(all) => all.map({BOX})"))


def _below_composer(tab: Tab, element: Any) -> float:
    """How far ``element``'s bottom edge reaches under the composer's top edge (≤ 0: clear of it)."""
    return float(element.evaluate("(e) => e.getBoundingClientRect().bottom")) - float(
        tab.page.evaluate("document.getElementById('composer').getBoundingClientRect().top")
    )


@pytest.mark.slow
def test_thread__actions_are_spaced_targets_and_focus_clears_the_composer(open_tab) -> None:  # type: ignore[no-untyped-def]
    fr, _, case = two_ministries()
    paris = open_tab(fr, viewport={"width": 1280, "height": 640})
    set_up_keys(paris)
    open_thread(paris, str(case.pk), "Layout")
    for n in range(6):
        send_text(paris, f"Message {n}: long enough to take a line of the timeline.")

    # Reply, Edit, Retract: 24 x 24 px each, side by side without touching.
    last = "#entries > li.message:not(.pending):last-child .entry-actions button"
    paris.page.locator(last).nth(2).wait_for()  # the stored entry has replaced the pending one
    boxes = _boxes(paris, last)
    assert [b[2] >= 24 and b[3] >= 24 for b in boxes] == [True] * 3, boxes
    for (left, _, width, _), (next_left, _, _, _) in pairwise(boxes):
        assert next_left - (left + width) >= 8, boxes

    # The page reserves the sticky composer's height at the bottom of the scrollport,
    # except while focus is in the composer (typing there must not scroll the timeline).
    paris.page.evaluate("document.activeElement.blur()")
    padding, composer = paris.page.evaluate(PADDING_AND_COMPOSER)
    assert padding >= composer > 0
    paris.page.evaluate(UNDER_THE_COMPOSER)
    scrolled = paris.page.evaluate("scrollY")
    paris.page.locator("#compose-text").focus()
    assert paris.page.evaluate(PADDING_AND_COMPOSER)[0] == 0 and paris.page.evaluate("scrollY") == scrolled
    paris.page.evaluate("document.activeElement.blur()")

    # A button inside the viewport but under the composer: tabbing to it scrolls it clear.
    paris.page.evaluate(UNDER_THE_COMPOSER)
    target = paris.page.locator("[data-probe=target]")
    assert _below_composer(paris, target) > 0  # covered, though inside the viewport
    assert target.evaluate("(e) => e.getBoundingClientRect().bottom < innerHeight")
    paris.page.locator("[data-probe=before]").evaluate("(e) => e.focus({preventScroll: true})")
    paris.page.keyboard.press("Tab")
    assert target.evaluate("(e) => e === document.activeElement")
    assert _below_composer(paris, target) <= 0
    assert paris.csp_violations() == [] and paris.errors == []
