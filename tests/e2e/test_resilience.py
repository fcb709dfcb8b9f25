"""The connection drops and comes back (issue 4 "Resilience")."""

import pytest
from django.contrib.sessions.models import Session

from consult.models import Entry
from tests.e2e.conftest import (
    PASSPHRASE,
    STATUS_TONE,
    compose,
    entry_with,
    invite,
    open_thread,
    send_text,
    set_up_keys,
    wait_js,
    wait_ready,
)
from tests.e2e.test_consultation import two_ministries

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]

# Cut the tab's socket and keep it from reconnecting (as a dead network would), then restore it.
GO_OFFLINE = """(() => {
  const s = window.comityThread.socket;
  s.realUrl = s.url;
  s.url = s.url.replace('/ws/', '/ws-unreachable/');  // same origin (the CSP allows it), but every handshake fails
  s.ws.close();
})()"""
GO_ONLINE = """(() => {
  const s = window.comityThread.socket;
  s.url = s.realUrl;
  s.reconnectNow();
})()"""
# Ctrl+Enter twice in one go: the second press comes while the first submit is under way.
CTRL_ENTER_TWICE = """(() => {
  const text = document.getElementById('compose-text');
  for (let i = 0; i < 2; i++) {
    text.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', ctrlKey: true, bubbles: true, cancelable: true}));
  }
})()"""
USER_KEYS = "**/api/v1/users/*/keys"


def test_offline__composed_message_is_sent_once_and_missed_entries_arrive(open_tab) -> None:  # type: ignore[no-untyped-def]
    fr, de, case = two_ministries()
    paris, berlin = open_tab(fr), open_tab(de)
    set_up_keys(paris)
    set_up_keys(berlin, PASSPHRASE + " de")
    thread = open_thread(paris, str(case.pk), "Resilience")
    invite(paris, "Jonas Weber")
    berlin.goto(f"/threads/{thread}/")
    wait_ready(berlin)

    berlin.page.evaluate(GO_OFFLINE)
    berlin.page.wait_for_selector("#connection[data-state=offline], #connection[data-state=connecting]")
    send_text(paris, "Sent while Berlin was offline.")
    berlin.page.fill("#compose-text", "Written on the train, without network.")
    berlin.page.click("#send-button")
    berlin.page.locator("#entries li.pending", has_text="without network").wait_for()
    assert "network" in berlin.page.inner_text("#entries li.pending")

    berlin.page.evaluate(GO_ONLINE)
    wait_ready(berlin)
    entry_with(berlin, "Sent while Berlin was offline.")  # resumed after the last seq it had
    entry_with(paris, "without network")
    wait_js(berlin, "document.querySelectorAll('#entries li.pending').length === 0")
    texts = Entry.objects.filter(thread_id=thread, kind="message").count()
    assert texts == 2  # the queued message was stored once
    assert [e for e in berlin.errors if "ws-unreachable" not in e] == []  # only the cut connection's own failures
    assert berlin.csp_violations() == []
    assert paris.errors == []

    # The same page in French: Django's catalogue for the template, the JS catalogue for what scripts write.
    paris.page.select_option("#language-select", "fr")
    paris.page.click("form.language button[type=submit]")
    paris.page.wait_for_load_state()
    paris.goto(f"/threads/{thread}/")
    wait_ready(paris)
    paris.page.locator("#members-title", has_text="Membres").wait_for()
    entry_with(paris, "without network").locator("[data-action=reply]", has_text="Répondre").wait_for()
    assert paris.page.evaluate("document.documentElement.lang") == "fr"


def test_send__keys_not_fetched__text_stays_then_is_sent_once(open_tab) -> None:  # type: ignore[no-untyped-def]
    """A send that fails before the message is queued loses nothing; a second Ctrl+Enter sends nothing more."""
    fr, _de, case = two_ministries()
    paris = open_tab(fr)
    set_up_keys(paris)
    thread = open_thread(paris, str(case.pk), "Drafts")
    text = "Typed while the keys could not be fetched."

    paris.page.route(USER_KEYS, lambda route: route.abort())  # the members' keys are fetched before every send
    compose(paris, text)
    paris.page.click("#send-button")
    paris.page.wait_for_selector("#composer-status[data-tone=error]")
    assert paris.page.input_value("#compose-text") == text
    assert "cannot be reached" in paris.page.inner_text("#composer-status")  # a catalogue string, not the fetch's own
    assert paris.page.locator("#entries li.pending").count() == 0
    assert paris.page.is_hidden("#thread-alert")  # a failed fetch is no tampering

    paris.page.unroute(USER_KEYS)
    paris.page.evaluate("document.getElementById('composer-status').removeAttribute('data-tone')")
    paris.page.evaluate(CTRL_ENTER_TWICE)
    wait_js(paris, f"{STATUS_TONE} === 'ok'", timeout=60)
    entry_with(paris, text)
    wait_js(paris, "document.querySelectorAll('#entries li.pending').length === 0")
    assert paris.page.input_value("#compose-text") == ""
    assert Entry.objects.filter(thread_id=thread, kind="message").count() == 1
    assert paris.errors == []
    assert paris.csp_violations() == []


def test_keys_not_served__calm_notice_then_the_record_verifies(open_tab) -> None:  # type: ignore[no-untyped-def]
    """Keys the server cannot serve for a while hold the record back calmly; no tampering alarm, no reload needed."""
    fr, _de, case = two_ministries()
    paris = open_tab(fr)
    set_up_keys(paris)
    thread = open_thread(paris, str(case.pk), "Flaky keys")
    send_text(paris, "Verified once the keys come.")

    paris.page.route(USER_KEYS, lambda route: route.fulfill(status=503, body="{}"))
    paris.goto(f"/threads/{thread}/")
    wait_ready(paris)
    paris.page.locator("#timeline-status", has_text="cannot be fetched").wait_for()
    assert paris.page.is_hidden("#thread-alert")

    paris.page.unroute(USER_KEYS)
    entry_with(paris, "Verified once the keys come.")  # asked again a few seconds later
    wait_js(paris, "document.getElementById('timeline-status').textContent === ''")
    assert paris.page.is_hidden("#thread-alert")
    assert paris.page.is_enabled("#send-button")
    assert paris.errors == []


def test_signed_out__refused_handshake_says_so_and_queued_text_comes_back(open_tab) -> None:  # type: ignore[no-untyped-def]
    """A session that ended while the tab was away: the handshake is refused, the tab says so and stops."""
    fr, _de, case = two_ministries()
    paris = open_tab(fr)
    set_up_keys(paris)
    open_thread(paris, str(case.pk), "Sessions")
    paris.page.evaluate(GO_OFFLINE)
    paris.page.wait_for_selector("#connection[data-state=offline], #connection[data-state=connecting]")
    compose(paris, "Queued before the session ended.")
    paris.page.click("#send-button")
    paris.page.locator("#entries li.pending", has_text="Queued before").wait_for()

    Session.objects.all().delete()  # expired while the laptop slept: no close event reaches the tab
    paris.page.evaluate(GO_ONLINE)
    paris.page.wait_for_selector("#connection[data-state=closed]")
    alert = paris.page.locator("#thread-alert")
    assert "You have been signed out." in alert.inner_text()
    assert alert.locator("a[href^='/login/?next=']").count() == 1
    failed = paris.page.locator("#entries li.pending.state-failed", has_text="Queued before")
    failed.wait_for()
    assert "Not sent" in failed.inner_text()
    failed.locator("button[data-action=restore]").click()
    assert paris.page.input_value("#compose-text") == "Queued before the session ended."
    assert paris.page.evaluate("document.getElementById('compose-text').readOnly")
    assert paris.page.is_enabled("#compose-text")  # read-only, not disabled: the text can be selected and copied
    assert paris.page.is_disabled("#send-button")
    assert paris.page.evaluate("window.comityThread.socket.stopped")  # no more handshakes that would be refused
    assert [e for e in paris.errors if "WebSocket" not in e] == []  # only the refused handshakes' own failures
