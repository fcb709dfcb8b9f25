"""What a compromised (or wrongly restored) server serves, as the real browser shows it (DESIGN §5)."""

from typing import Any

import pytest

from consult.models import Entry, Thread
from tests.e2e.conftest import Tab, open_thread, send_text, set_up_keys, wait_js
from tests.e2e.test_consultation import two_ministries

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]

# The head this browser remembers for a thread, read from its key store (IndexedDB) as the page left it.
REMEMBERED_HEAD = """(thread) => new Promise((resolve, reject) => {
  const opened = indexedDB.open('comity');
  opened.onerror = () => reject(opened.error);
  opened.onsuccess = () => {
    const got = opened.result.transaction('keys').objectStore('keys').get('head:' + thread);
    got.onsuccess = () => resolve(got.result && {seq: got.result.seq, hash: got.result.hash});
    got.onerror = () => reject(got.error);
  };
})"""


def remembered_head(tab: Tab, thread: str) -> Any:
    return tab.page.evaluate(REMEMBERED_HEAD, thread)


def cut_record_after(thread: str, seq: int) -> None:
    """The server forgets every entry after ``seq``, as a restore from an older backup would."""
    Entry.objects.filter(thread_id=thread, seq__gt=seq).delete()
    kept = Entry.objects.get(thread_id=thread, seq=seq)
    Thread.objects.filter(pk=thread).update(head_seq=seq, head_hash=kept.hash)


def test_rollback__a_record_shorter_than_the_one_verified_before_is_flagged_and_not_remembered(open_tab) -> None:  # type: ignore[no-untyped-def]
    fr, _de, case = two_ministries()
    paris = open_tab(fr)
    set_up_keys(paris)
    thread = open_thread(paris, str(case.pk), "Rollback")
    send_text(paris, "Agreed: the hearing is on Monday.")
    send_text(paris, "And the warrant follows by courier.")
    head = paris.page.evaluate("window.comityThread.state.head")
    wait_js(paris, f"window.comityThread.state.head.seq === {head['seq']}")
    assert remembered_head(paris, thread) == head

    cut_record_after(thread, head["seq"] - 2)
    paris.goto(f"/threads/{thread}/")
    wait_js(paris, "Boolean(window.comityThread && window.comityThread.loaded)")

    assert paris.page.evaluate("window.comityThread.state.broken.reason") == "rollback"
    alert = paris.page.locator("#thread-alert p.broken")
    alert.wait_for()
    assert f"entry {head['seq'] - 1}" in alert.inner_text()
    assert "cut short" in alert.inner_text()
    assert remembered_head(paris, thread) == head  # the next visit compares with what was verified, not the cut
    assert paris.errors == []


def test_fork__another_version_of_an_entry_already_shown_arriving_live_is_flagged(open_tab) -> None:  # type: ignore[no-untyped-def]
    fr, _de, case = two_ministries()
    paris = open_tab(fr)
    set_up_keys(paris)
    open_thread(paris, str(case.pk), "Fork")
    send_text(paris, "The request is complete.")
    seq = paris.page.evaluate(
        """() => {
          // As the socket would deliver it: entry 2 again, under another hash.
          const page = window.comityThread;
          const shown = page.state.bySeq.get(2);
          page.socket.dispatchEvent(new CustomEvent('frame', {detail: {
            type: 'entry', thread: page.thread, seq: 2, entry: {...shown.entry, at: '2026-11-22T10:00:00.000Z'},
            hash: page.state.bySeq.get(1).hash, server_sig: shown.serverSig,
          }}));
          return shown.seq;
        }"""
    )
    alert = paris.page.locator("#thread-alert p.broken")
    alert.wait_for()
    assert f"entry {seq}" in alert.inner_text()
    assert paris.page.evaluate("window.comityThread.state.broken.reason") == "fork"
    assert paris.page.locator("#send-button").is_disabled()  # nothing is sent on a forked record
    assert paris.errors == []
