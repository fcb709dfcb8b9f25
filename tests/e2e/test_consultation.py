"""Two officers of the two authorities consult in their browsers (issue 4 acceptance)."""

import base64
import datetime as dt
import json
import os

import pytest
from django.db import connection

from cases.models import Case
from consult.models import User
from tests.e2e.conftest import (
    PASSPHRASE,
    compose,
    entry_with,
    invite,
    open_thread,
    screenshot,
    send,
    send_text,
    set_up_keys,
    sign_in_and_enrol,
    wait_ready,
)
from tests.helpers import PASSWORD, assign, make_authority, make_case, make_user
from tests.realtime import make_peer, make_records_key

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]


def two_ministries() -> tuple[User, User, Case]:
    fr_mj, de_bfj = make_authority("FR-MJ", "FR"), make_authority("DE-BFJ", "DE")
    for authority in (fr_mj, de_bfj):
        make_records_key(make_peer(make_user(authority, User.Role.SUPERVISOR)))
    fr = make_user(fr_mj, email="camille@fr-mj.example")
    de = make_user(de_bfj, email="jonas@de-bfj.example")
    fr.display_name, de.display_name = "Camille Martin", "Jonas Weber"
    fr.save(update_fields=["display_name"])
    de.save(update_fields=["display_name"])
    case = make_case(fr, de_bfj)
    assign(de, case, de)
    return fr, de, case


def test_consultation__two_officers_exchange_items_live(open_tab, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Enrol, set up keys, open a thread, and see each other's items live."""
    fr, de, case = two_ministries()
    paris, berlin = open_tab(), open_tab()
    sign_in_and_enrol(paris, fr.email, PASSWORD)
    sign_in_and_enrol(berlin, de.email, PASSWORD)
    set_up_keys(paris)
    set_up_keys(berlin, PASSPHRASE + " de")
    thread = open_thread(paris, str(case.pk), "Dual criminality — fraud")
    invite(paris, "Jonas Weber")
    berlin.goto(f"/threads/{thread}/")
    wait_ready(berlin)

    secrets = [
        "Is **fraud** under §263 StGB covered by the treaty?",
        "Yes, see *Article 2*: fraud is punishable in both States.",
        "Please confirm the one-year threshold for Jean-Baptiste Moreau.",
        "The threshold is met: up to five years under §263 StGB.",
        "Please assure detention conditions compliant with Article 3 ECHR.",
        "France assures detention at Fresnes, in a single cell of 9 m2.",
        "Accepted with thanks for the Fresnes assurance.",
        "Arrest warrant of the juge d'instruction attached.",
    ]
    # A message each way.
    send_text(paris, secrets[0])
    entry_with(berlin, "covered by the treaty").locator("strong", has_text="fraud").wait_for()
    send_text(berlin, secrets[1])
    entry_with(paris, "fraud is punishable in both States")

    # A clarification with a due date, answered from the other side.
    compose(paris, secrets[2], kind="clarification")
    paris.page.fill("#compose-due", (dt.date.today() + dt.timedelta(days=10)).isoformat())
    send(paris)
    asked = entry_with(berlin, "one-year threshold")
    asked.locator(".badge", has_text="open").wait_for()
    asked.locator("[data-action=answer]").click()
    compose(berlin, secrets[3])
    send(berlin)
    entry_with(paris, "The threshold is met").locator(".badge", has_text="Answer").wait_for()
    entry_with(paris, "one-year threshold").locator(".badge", has_text="answered").wait_for()

    # An assurance: requested by Berlin, offered by Paris, accepted by Berlin.
    compose(berlin, secrets[4], kind="assurance")
    berlin.page.select_option("#compose-assurance-type", "prison_conditions")
    send(berlin)
    entry_with(paris, "Article 3 ECHR").locator("[data-action=assurance-offered]").click()
    compose(paris, secrets[5])
    send(paris)
    entry_with(berlin, "Article 3 ECHR").locator(".assurance-status", has_text="offered").wait_for()
    entry_with(berlin, "Article 3 ECHR").locator("[data-action=assurance-accepted]").click()
    compose(berlin, secrets[6])
    send(berlin)
    entry_with(paris, "Article 3 ECHR").locator(".assurance-status", has_text="accepted").wait_for()

    # A 5 MiB document, encrypted in the browser, downloaded and decrypted by the other side.
    document = os.urandom(5 * 1024 * 1024)
    compose(paris, secrets[7], kind="document")
    paris.page.select_option("#compose-doc-type", "warrant")
    paris.page.set_input_files("#compose-file", files=[{"name": "mandat-d-arret.pdf", "mimeType": "application/pdf",
                                                        "buffer": document}])  # fmt: skip
    send(paris)
    button = entry_with(berlin, "juge d'instruction").locator("button.file", has_text="mandat-d-arret.pdf")
    with berlin.page.expect_download() as download:
        button.click()
    saved = download.value.path()
    assert saved is not None
    with open(saved, "rb") as received:
        assert received.read() == document

    screenshot(paris, "thread-desktop.png")
    paris.page.set_viewport_size({"width": 390, "height": 844})
    screenshot(paris, "thread-phone.png")
    too_wide = paris.page.evaluate(
        "[...document.querySelectorAll('body *')]"
        ".filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map((e) => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)"
    )
    assert too_wide == []

    for tab in (paris, berlin):
        assert tab.csp_violations() == []
        assert tab.errors == []
    assert_database_holds_none_of([s.encode() for s in secrets] + [b"Jean-Baptiste Moreau"], document)
    stored = [p.read_bytes() for p in (tmp_path / "blobs").iterdir()]
    assert len(stored) == 1 and len(stored[0]) > len(document)  # the ciphertext, chunk headers and tags
    assert not any(document[i : i + 32] in stored[0] for i in range(0, len(document), 512 * 1024))

    # Retracting the document takes its file off the server, not only its key.
    entry_with(paris, "juge d'instruction").locator("[data-action=retract]").click()
    berlin.page.locator("#entries li.message .removed", has_text="Retracted").wait_for()
    assert list((tmp_path / "blobs").iterdir()) == []


def database_dump() -> bytes:
    """Every value of every table, as bytes: text as UTF-8, bytea raw, JSON as text."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from introspection
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes | bytearray):
                        parts.append(bytes(value))
                    elif isinstance(value, dict | list):
                        parts.append(json.dumps(value, ensure_ascii=False).encode())
                    elif value is not None:
                        parts.append(str(value).encode())
    return b"\x00".join(parts)


def assert_database_holds_none_of(plaintexts: list[bytes], document: bytes) -> None:
    dump = database_dump()
    assert len(dump) > 20_000  # the record and its ciphertext are there
    for text in plaintexts:
        for form in (text, text.replace(b"**", b""), json.dumps(text.decode())[1:-1].encode()):
            assert form not in dump, form
    windows = [document[i : i + 32] for i in range(0, len(document), 1024 * 1024 // 2)]
    encoded = [base64.b64encode(document[:48]), base64.urlsafe_b64encode(document[:48]).rstrip(b"=")]
    for needle in windows + encoded:
        assert needle not in dump
