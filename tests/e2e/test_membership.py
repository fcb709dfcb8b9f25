"""Liaison officers, second devices and changed identity keys, in real browsers (issue 4 acceptance)."""

import pytest

from cases.models import Case
from consult.models import Device, Entry, User
from tests.e2e.conftest import (
    PASSPHRASE,
    Tab,
    entry_with,
    invite,
    open_thread,
    restore_keys,
    send_text,
    set_up_keys,
    wait_js,
    wait_ready,
)
from tests.helpers import assign, make_authority, make_case, make_user
from tests.realtime import make_peer, make_records_key

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]


def people() -> tuple[User, User, User, Case]:
    fr_mj, de_bfj, office = make_authority("FR-MJ", "FR"), make_authority("DE-BFJ", "DE"), make_authority("FR-ML", "FR")
    for authority in (fr_mj, de_bfj):
        make_records_key(make_peer(make_user(authority, User.Role.SUPERVISOR)))
    fr, de = make_user(fr_mj, email="camille@fr-mj.example"), make_user(de_bfj, email="jonas@de-bfj.example")
    liaison = make_user(office, User.Role.LIAISON, email="sophie@fr-ml.example")
    for user, name in ((fr, "Camille Martin"), (de, "Jonas Weber"), (liaison, "Sophie Laurent")):
        user.display_name = name
        user.save(update_fields=["display_name"])
    case = make_case(fr, de_bfj)
    assign(de, case, de)
    return fr, de, liaison, case


def with_keys(open_tab) -> tuple[User, User, Case, Tab, Tab]:  # type: ignore[no-untyped-def]
    """Camille (Paris) and Jonas (Berlin), each in a browser with keys set up."""
    fr, de, _liaison, case = people()
    paris, berlin = open_tab(fr), open_tab(de)
    set_up_keys(paris)
    set_up_keys(berlin, PASSPHRASE + " de")
    return fr, de, case, paris, berlin


def paris_and_berlin(open_tab, subject: str) -> tuple[User, User, Tab, Tab, str]:  # type: ignore[no-untyped-def]
    """Camille (Paris) opens a thread and invites Jonas (Berlin), who has it open; both have keys."""
    fr, de, case, paris, berlin = with_keys(open_tab)
    thread = open_thread(paris, str(case.pk), subject)
    invite(paris, "Jonas Weber")
    berlin.goto(f"/threads/{thread}/")
    wait_ready(berlin)
    return fr, de, paris, berlin, thread


def start_over(fresh: Tab) -> Tab:
    """On a new browser, the signed-in user starts over with new keys (a lost passphrase)."""
    fresh.goto("/keys/")
    fresh.page.wait_for_selector("#restore-keys:not([hidden])")
    fresh.page.click("#restore-keys summary")
    fresh.page.click("#start-over")
    fresh.page.fill("#create-passphrase", PASSPHRASE + " new")
    fresh.page.fill("#create-confirm", PASSPHRASE + " new")
    fresh.page.click("#create-form button[type=submit]")
    fresh.page.wait_for_selector("#devices:not([hidden])", timeout=60_000)
    return fresh


def readable(tab: Tab, text: str) -> bool:
    return bool(tab.page.locator("#entries .body", has_text=text).count())


def test_liaison__reads_shared_history_and_nothing_after_removal(open_tab) -> None:  # type: ignore[no-untyped-def]
    """Invited mid-thread with history shared, a liaison reads earlier messages; removed, not the next ones."""
    fr, _de, liaison, case = people()
    paris, office = open_tab(fr), open_tab(liaison)
    set_up_keys(paris)
    set_up_keys(office, PASSPHRASE + " liaison")
    thread = open_thread(paris, str(case.pk), "Surrender timetable", history="shared")
    send_text(paris, "Earlier: the hearing is set for 3 March.")
    invite(paris, "Sophie Laurent")
    send_text(paris, "Welcome: please coordinate the escort.")

    office.goto("/threads/")
    office.page.click(f"a[href='/threads/{thread}/']")
    wait_ready(office)
    entry_with(office, "hearing is set for 3 March")  # from before the invitation: history shared
    entry_with(office, "coordinate the escort")
    assert office.page.locator("#entries li.kind-keys", has_text="history").count() >= 1

    paris.page.locator("#members li", has_text="Sophie Laurent").locator("[data-action=remove]").click()
    wait_js(paris, f"!window.comityThread.state.members.has('{liaison.pk}')")
    send_text(paris, "After the removal: the new escort plan.")
    office.page.wait_for_selector("#thread-alert:not([hidden])")
    assert not readable(office, "new escort plan")
    # Not in any key package since: the newest epoch is wrapped to no device of hers.
    devices = set(Device.objects.filter(user=liaison).values_list("id", flat=True))
    last_keys = Entry.objects.filter(thread_id=thread, kind="keys").order_by("-seq").first()
    assert last_keys is not None
    import json

    recipients = {r["id"] for r in json.loads(last_keys.canonical)["body"]["recipients"]}
    assert not recipients & devices
    # And the record itself is closed to her now.
    status = office.page.evaluate(f"fetch('/api/v1/threads/{thread}/entries').then((r) => r.status)")
    assert status == 404
    assert paris.csp_violations() == [] and office.csp_violations() == []


def test_newcomer__whose_admitting_rotation_never_came_waits_and_the_next_member_to_look_makes_it(open_tab) -> None:  # type: ignore[no-untyped-def]
    """Camille's browser adds Jonas and closes before rotating: he is told why he cannot write yet, and
    once Camille opens the thread again her browser rotates and shares the history, and he reads and writes."""
    _fr, de, case, paris, berlin = with_keys(open_tab)
    thread = open_thread(paris, str(case.pk), "Dual criminality")
    send_text(paris, "Before Jonas: the offence is fraud under article 313-1.")
    paris.page.evaluate(
        """async (user) => {
            const page = window.comityThread;
            const change = await page.state.change('add', user);
            await page.socket.request({ type: 'member', thread: page.thread, change });
        }""",
        str(de.pk),
    )
    paris.goto("/threads/")  # gone before the rotation that should follow

    berlin.goto(f"/threads/{thread}/")
    wait_ready(berlin)
    berlin.page.wait_for_selector("#composer-status[data-tone=info]")
    assert "Once a member" in berlin.page.inner_text("#composer-status")
    assert berlin.page.is_disabled("#send-button")

    paris.goto(f"/threads/{thread}/")
    wait_ready(paris)
    wait_js(berlin, "!window.comityThread.state.awaitingAdmission")
    entry_with(berlin, "article 313-1")  # the earlier epoch came with it: history is shared on this thread
    send_text(berlin, "Thank you; the German equivalent is section 263 StGB.")
    entry_with(paris, "section 263 StGB")
    assert paris.errors == [] and berlin.errors == []


def test_second_device__restores_and_reads_everything(open_tab) -> None:  # type: ignore[no-untyped-def]
    """A second browser of the same officer restores from the passphrase and reads all history."""
    fr, _de, case, laptop, berlin = with_keys(open_tab)
    thread = open_thread(laptop, str(case.pk), "Evidence request")
    invite(laptop, "Jonas Weber")
    send_text(laptop, "First, from the laptop.")
    berlin.goto(f"/threads/{thread}/")
    wait_ready(berlin)
    send_text(berlin, "An answer from Berlin.")
    entry_with(laptop, "An answer from Berlin")

    phone = open_tab(fr, viewport={"width": 390, "height": 844})
    restore_keys(phone)
    phone.goto(f"/threads/{thread}/")
    wait_ready(phone)
    entry_with(phone, "First, from the laptop.")
    entry_with(phone, "An answer from Berlin.")
    assert phone.page.locator("#entries .undecryptable").count() == 0
    send_text(phone, "And now from the phone.")
    entry_with(berlin, "now from the phone")
    entry_with(laptop, "now from the phone")


def test_identity_change__blocks_sending_until_verified_again(open_tab) -> None:  # type: ignore[no-untyped-def]
    """Once verified, a counterpart's new identity key stops sending until its safety number is verified again."""
    _fr, de, paris, berlin, thread = paris_and_berlin(open_tab, "Safety numbers")

    member = paris.page.locator("#members li", has_text="Jonas Weber")
    member.locator("[data-action=safety]").click()
    paris.page.locator("#safety-digits li").nth(11).wait_for()
    digits = paris.page.locator("#safety-digits li").all_inner_texts()
    assert len(digits) == 12 and all(len(d) == 5 for d in digits)
    assert paris.page.locator("#safety-qr").get_attribute("src", timeout=1000)
    paris.page.click("#trust-verify")
    member.locator(".trust-verified").wait_for()
    send_text(paris, "Verified channel.")
    entry_with(berlin, "Verified channel.")

    # Jonas starts over with new keys on a new browser (a lost passphrase).
    fresh = start_over(open_tab(de))

    paris.page.fill("#compose-text", "This must not leave before re-verification.")
    paris.page.click("#send-button")
    paris.page.wait_for_selector("#thread-alert:not([hidden]) .identity-changed")
    assert paris.page.is_disabled("#send-button")
    assert "identity key" in paris.page.inner_text("#thread-alert")
    assert not Entry.objects.filter(thread_id=thread, kind="message").count() > 1

    paris.page.click("#thread-alert [data-action=reverify]")
    paris.page.click("#trust-verify")
    paris.page.wait_for_selector("#thread-alert", state="hidden")
    assert not paris.page.is_disabled("#send-button")
    send_text(paris, "Re-verified: the timetable follows.")
    fresh.goto(f"/threads/{thread}/")
    wait_ready(fresh)
    entry_with(fresh, "Re-verified: the timetable follows.")


def test_start_over__what_the_old_devices_signed_still_verifies_for_everyone(open_tab) -> None:  # type: ignore[no-untyped-def]
    """The thread's creator starts over: the new key vouches for the old, so the thread stays whole and readable."""
    fr, _de, paris, berlin, thread = paris_and_berlin(open_tab, "Dual criminality")
    send_text(paris, "Before I lost my passphrase.")
    creator = Entry.objects.get(thread_id=thread, kind="create").actor_device
    entry_with(berlin, "Before I lost my passphrase.")

    # Camille starts over on a new browser: her old device, which created the thread,
    # added Jonas and sent the message, is revoked with the identity key that certified it.
    start_over(open_tab(fr))
    assert Device.objects.get(pk=creator).revoked_at is not None
    assert Device.objects.filter(user=fr, revoked_at__isnull=True).count() == 1

    berlin.goto(f"/threads/{thread}/")
    wait_ready(berlin)
    entry_with(berlin, "Before I lost my passphrase.")
    assert berlin.page.evaluate("window.comityThread.state.broken") is None
    assert berlin.page.locator("#thread-alert .broken").count() == 0
    assert berlin.page.locator("#entries .undecryptable").count() == 0


def test_records_key__made_by_supervisors_in_the_browser(open_tab) -> None:  # type: ignore[no-untyped-def]
    """Each supervisor makes their authority's records key in the browser; threads then open with both."""
    from consult.models import RecordsKey

    fr_mj, de_bfj = make_authority("FR-MJ", "FR"), make_authority("DE-BFJ", "DE")
    fr_sup, de_sup = make_user(fr_mj, User.Role.SUPERVISOR), make_user(de_bfj, User.Role.SUPERVISOR)
    fr = make_user(fr_mj, email="camille@fr-mj.example")
    case = make_case(fr, de_bfj)
    for supervisor in (fr_sup, de_sup):
        tab = open_tab(supervisor)
        set_up_keys(tab, PASSPHRASE)
        tab.goto("/records-key/")
        tab.page.locator("#records-status[data-tone=error]").wait_for()  # none yet
        tab.page.fill("#records-passphrase", "records passphrase shared by supervisors")
        tab.page.fill("#records-confirm", "records passphrase shared by supervisors")
        tab.page.fill("#records-recovery", PASSPHRASE)
        tab.page.click("#records-form button[type=submit]")
        tab.page.locator("#records-status[data-tone=ok]").wait_for(timeout=60_000)
        assert tab.csp_violations() == []
    keys = RecordsKey.objects.filter(retired_at__isnull=True).select_related("authority", "certified_by")
    assert {(k.authority.code, k.certified_by_id, k.wrapped is not None) for k in keys} == {
        ("FR-MJ", fr_sup.pk, True),
        ("DE-BFJ", de_sup.pk, True),
    }
    paris = open_tab(fr)
    set_up_keys(paris)
    thread = open_thread(paris, str(case.pk), "Records keys")
    last_keys = Entry.objects.filter(thread_id=thread, kind="keys").order_by("-seq").first()
    assert last_keys is not None
    assert '"records:DE-BFJ"' in last_keys.canonical and '"records:FR-MJ"' in last_keys.canonical


def test_tampered_record__is_shown_loudly_and_stops_sending(open_tab) -> None:  # type: ignore[no-untyped-def]
    """An entry altered in the database breaks the chain: the page says so and sends nothing."""
    fr, _de, _liaison, case = people()
    paris = open_tab(fr)
    set_up_keys(paris)
    thread = open_thread(paris, str(case.pk), "Tamper")
    send_text(paris, "The original wording.")
    entry = Entry.objects.get(thread_id=thread, kind="create")
    entry.canonical = entry.canonical.replace('"Tamper"', '"Tampered"')
    entry.save(update_fields=["canonical"])
    paris.goto(f"/threads/{thread}/")
    paris.page.wait_for_selector("#thread-alert:not([hidden]) .broken")
    assert "entry 1" in paris.page.inner_text("#thread-alert")
    assert paris.page.is_disabled("#send-button")
    assert paris.page.locator("#entries .body", has_text="original wording").count() == 0
