"""Layout as Chromium draws it: live regions (WCAG 2.2)."""

import pytest

from tests.helpers import make_authority, make_case, make_user

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


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
