"""The record through the real browser (issue: the record): a thread with every kind of item is
acknowledged, exported by supervisors in Chromium, verified offline and opened byte for byte."""

import datetime as dt
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from consult.models import Entry, RecordsKey, User
from tests.e2e.conftest import (
    PASSPHRASE,
    Tab,
    compose,
    entry_with,
    invite,
    open_thread,
    send,
    send_text,
    set_up_keys,
    wait_js,
    wait_ready,
)
from tests.helpers import assign, make_authority, make_case, make_user, totp_now
from tests.realtime import make_peer, make_records_key

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]

RECORDS_PASSPHRASE = "records passphrase kept by the FR supervisors"


def named(user: User, name: str) -> User:
    user.display_name = name
    user.save(update_fields=["display_name"])
    return user


def make_records_key_in_browser(tab: Tab) -> None:
    tab.goto("/records-key/")
    tab.page.fill("#records-passphrase", RECORDS_PASSPHRASE)
    tab.page.fill("#records-confirm", RECORDS_PASSPHRASE)
    tab.page.fill("#records-recovery", PASSPHRASE)
    tab.page.click("#records-form button[type=submit]")
    tab.page.locator("#records-status[data-tone=ok]").wait_for(timeout=60_000)


def export_in_browser(tab: Tab, supervisor: User, thread: str, target: Path, *, readable: bool) -> Path:
    """Fresh code, records passphrase (readable bundles only), wait for the ZIP and save it."""
    tab.goto(f"/threads/{thread}/record/")
    if readable:
        tab.page.fill("#export-passphrase", RECORDS_PASSPHRASE)
    else:
        tab.page.check("input[name=contents][value=ciphertext]")
        assert tab.page.locator("#export-passphrase-field").is_hidden()
    tab.page.fill("#export-code", totp_now(TOTPDevice.objects.get(user=supervisor)))
    tab.page.click("#export-button")
    outcome = wait_js(
        tab,
        "document.querySelector('#export-status[data-tone=ok]') ? 'ok'"
        " : document.getElementById('export-error').textContent",
        timeout=120,
    )
    assert outcome == "ok", outcome
    with tab.page.expect_download() as download:
        tab.page.click("#export-link")  # saved once already; save it again where the test can read it
    download.value.save_as(target)
    return target


def test_export__a_full_thread_through_the_browser_verifies_and_opens_byte_for_byte(open_tab, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fr_mj, de_bfj, office = make_authority("FR-MJ", "FR"), make_authority("DE-BFJ", "DE"), make_authority("FR-ML", "FR")
    make_records_key(make_peer(make_user(de_bfj, User.Role.SUPERVISOR)))
    helene = named(make_user(fr_mj, User.Role.SUPERVISOR, email="helene@fr-mj.example"), "Hélène Roux")
    marc = named(make_user(fr_mj, User.Role.SUPERVISOR, email="marc@fr-mj.example"), "Marc Petit")
    fr = named(make_user(fr_mj, email="camille@fr-mj.example"), "Camille Martin")
    de = named(make_user(de_bfj, email="jonas@de-bfj.example"), "Jonas Weber")
    liaison = named(make_user(office, User.Role.LIAISON, email="sophie@fr-ml.example"), "Sophie Laurent")
    case = make_case(fr, de_bfj)
    assign(de, case, de)

    # Hélène makes the FR records key in her browser; Marc, the second supervisor, only knows its passphrase.
    sup, sup2 = open_tab(helene), open_tab(marc)
    set_up_keys(sup, PASSPHRASE)
    make_records_key_in_browser(sup)
    set_up_keys(sup2, PASSPHRASE + " marc")

    paris, berlin, liaison_tab = open_tab(fr), open_tab(de), open_tab(liaison)
    set_up_keys(paris)
    set_up_keys(berlin, PASSPHRASE + " de")
    set_up_keys(liaison_tab, PASSPHRASE + " liaison")
    thread = open_thread(paris, str(case.pk), "Extradition of J.-B. Moreau")
    invite(paris, "Jonas Weber")
    berlin.goto(f"/threads/{thread}/")
    wait_ready(berlin)

    texts = {
        "question": "Does the offence carry **at least one year** under your law?",
        "answer": "Yes: article 7, up to *three years*.",
        "edited": "Correction: up to **five** years under article 7.",
        "clarification": "Please confirm the limitation period for Moreau.",
        "clarified": "Not time-barred: the period runs until 2031.",
        "assurance": "Please assure detention compliant with Article 3 ECHR.",
        "wrong": "Sent to the wrong thread, please ignore.",
        "liaison": "Liaison: the escort is booked for Monday.",
        "last": "Both documents are attached above; please confirm receipt.",
    }
    send_text(paris, texts["question"])
    entry_with(berlin, "at least one year")
    send_text(berlin, texts["answer"])
    entry_with(berlin, "article 7, up to").locator("[data-action=edit]").click()
    compose(berlin, texts["edited"])
    send(berlin)
    entry_with(paris, "up to five years")

    compose(paris, texts["clarification"], kind="clarification")
    paris.page.fill("#compose-due", (dt.date.today() + dt.timedelta(days=10)).isoformat())
    send(paris)
    entry_with(berlin, "limitation period").locator("[data-action=answer]").click()
    compose(berlin, texts["clarified"])
    send(berlin)
    compose(berlin, texts["assurance"], kind="assurance")
    berlin.page.select_option("#compose-assurance-type", "prison_conditions")
    send(berlin)

    documents = {"warrant.pdf": os.urandom(70_000), "translation.pdf": os.urandom(1024 * 1024 + 5)}
    for name, content in documents.items():
        compose(paris, f"Attached: {name}", kind="document")
        paris.page.select_option("#compose-doc-type", "warrant")
        upload = {"name": name, "mimeType": "application/pdf", "buffer": content}
        paris.page.set_input_files("#compose-file", files=[upload])
        send(paris)

    assert paris.page.input_value("#compose-kind") == "text"  # after a document, the composer is back to text
    send_text(paris, texts["wrong"])
    entry_with(paris, "wrong thread").locator("[data-action=retract]").click()
    paris.page.locator("#entries li.message .removed", has_text="Retracted").wait_for()
    berlin.page.locator("#entries li.message .removed", has_text="Retracted").wait_for()

    invite(paris, "Sophie Laurent")
    liaison_tab.goto(f"/threads/{thread}/")
    wait_ready(liaison_tab)
    entry_with(liaison_tab, "at least one year")  # shared history
    send_text(liaison_tab, texts["liaison"])
    paris.page.locator("#members li", has_text="Sophie Laurent").locator("[data-action=remove]").click()
    wait_js(paris, f"!window.comityThread.state.members.has('{liaison.pk}')")

    send_text(paris, texts["last"])  # under the epoch rotated after her removal
    entry_with(berlin, "please confirm receipt").locator("[data-action=acknowledge]").click()
    acknowledged = entry_with(paris, "please confirm receipt").locator(".acknowledged")
    acknowledged.wait_for()
    assert acknowledged.inner_text().startswith("Acknowledged by DE-BFJ at ")
    # Earlier messages of Paris are covered by the same receipt; Berlin's own are not (it acknowledged them itself).
    entry_with(paris, "at least one year").locator(".acknowledged", has_text="DE-BFJ").wait_for()
    assert entry_with(paris, "up to five years").locator(".acknowledged").count() == 0

    # Marc (second supervisor, passphrase only) exports readable; Hélène the ciphertext-only bundle.
    sup2.goto(f"/threads/{thread}/")
    sup2.page.click("a[href$='/record/']")
    sup2.page.wait_for_url(f"**/threads/{thread}/record/")
    readable = export_in_browser(sup2, marc, thread, tmp_path / "readable.zip", readable=True)
    sealed = export_in_browser(sup, helene, thread, tmp_path / "sealed.zip", readable=False)
    assert Entry.objects.filter(thread_id=thread, kind="export").count() == 2
    for tab in (paris, berlin, liaison_tab, sup, sup2):
        assert tab.csp_violations() == [], tab.csp_violations()
        assert tab.errors == [], tab.errors

    for bundle in (readable, sealed):
        out = io.StringIO()
        call_command("record", "verify", str(bundle), stdout=out)
        assert "OK: the record verifies." in out.getvalue()
        assert "Acknowledgements:" in out.getvalue() and "(none)" not in out.getvalue()

    # The readable bundle carries every plaintext and file as sent.
    with zipfile.ZipFile(readable) as archive:
        items = [json.loads(line) for line in archive.read("entries.jsonl").decode().splitlines()]
        html = archive.read("record.html").decode()
        files = {n.rsplit("/", 1)[1]: archive.read(n) for n in archive.namelist() if n.startswith("files/")}
        manifest = json.loads(archive.read("manifest.json"))
    payloads = [i["payload"]["text"] for i in items if "payload" in i]
    for key, text in texts.items():
        assert (text in payloads) == (key != "wrong"), key
    assert files == documents
    assert manifest["contents"] == "plaintext" and manifest["exporter"]["authority"] == "FR-MJ"
    last_seq = next(i["seq"] for i in items if i.get("payload", {}).get("text") == texts["last"])
    assert [(a["by"], a["up_to"]) for a in manifest["acknowledgements"]] == [(str(de.pk), last_seq)]
    assert "<script" not in html.lower()
    assert "Content retracted by its sender on" in html and "five</strong> years" in html

    # The ciphertext-only bundle holds no plaintext; `record open` with the wrapped key recovers it all.
    sealed_bytes = sealed.read_bytes()
    assert not any(text.encode() in sealed_bytes for text in texts.values())
    key_file, passphrase_file = tmp_path / "records-key.json", tmp_path / "passphrase.txt"
    wrapped = RecordsKey.objects.get(authority=fr_mj, retired_at__isnull=True).wrapped
    key_file.write_text(json.dumps(wrapped))
    passphrase_file.write_text(RECORDS_PASSPHRASE)
    opened = tmp_path / "opened"
    call_command("record", "open", str(sealed), "--key", str(key_file), "--passphrase-file", str(passphrase_file),
                 "--out", str(opened), stdout=io.StringIO())  # fmt: skip
    opened_files = {p.name: p.read_bytes() for p in (opened / "files").rglob("*") if p.is_file()}
    assert opened_files == documents
    opened_html = (opened / "record.html").read_text()
    for key, text in texts.items():
        plain = text.replace("**", "").replace("*", "")
        visible = opened_html.replace("<strong>", "").replace("</strong>", "").replace("<em>", "").replace("</em>", "")
        assert (plain in visible) == (key != "wrong"), key
    assert (opened / "record.pdf").read_bytes().startswith(b"%PDF")
