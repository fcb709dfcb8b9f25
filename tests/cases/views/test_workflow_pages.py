"""Workflow pages: what they show, what their forms do, and that they keep to the CSP (issue 6)."""

import datetime as dt
import re

import pytest
from django.test import Client

from cases.models import Assurance, AssuranceCheck, Clarification, Deadline, MonitoringTask, ThreadHandling
from consult.models import User
from tests.cases.stats_data import build
from tests.cases.workflow import Scene, make_scene, snapshot
from tests.helpers import make_user, verified_client
from tests.markup import assert_headings_nest, assert_references_resolve

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene() -> Scene:
    scene = make_scene()
    w = scene.world
    asked = scene.send(w.de, "clarification", {"due": "2026-01-10", "handling": "no_judicial_disclosure"})
    scene.send(w.fr, "answer", {"clarification": asked})
    scene.send(w.de, "clarification", {"due": "2026-02-01"})
    first = scene.send(w.de, "assurance", {"type": "death_penalty", "status": "requested"})
    scene.send(w.fr, "assurance", {"type": "death_penalty", "status": "offered", "ref": first})
    return scene


def page(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def assert_keeps_to_the_csp(html: str) -> None:
    """No inline style attribute or element, no inline script (``style-src``/``script-src 'self'``)."""
    assert not re.search(r"<[^>]+\sstyle=", html)
    assert "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_case_registers__show_who_must_answer_history_and_handling(scene: Scene) -> None:
    html = page(verified_client(scene.world.de.user), f"/cases/{scene.world.case.pk}/registers/")
    assert "Not to be disclosed in judicial proceedings without consent" in html  # shown on the item
    assert "Death penalty" in html and "Offered" in html
    assert "Overdue by" in html  # due 1 February 2026, still open
    assert_keeps_to_the_csp(html)


def test_checklist__ticked_and_dated_by_the_requesting_side_only(scene: Scene) -> None:
    """DE asked for the assurance: DE ticks; FR (which gave it) gets 403 and changes nothing."""
    assurance = Assurance.objects.get()
    url = f"/cases/{scene.world.case.pk}/assurances/{assurance.pk}/checklist/"
    before = snapshot()
    refused = verified_client(scene.world.fr.user).post(url, {"point": "specific", "ticked": "1"})
    assert refused.status_code == 403
    assert snapshot() == before
    done = verified_client(scene.world.de.user).post(url, {"point": "specific", "ticked": "1"})
    assert done.status_code == 302
    check = AssuranceCheck.objects.get()
    assert (check.point, check.ticked, check.by) == ("specific", True, scene.world.de.user)
    assert check.at.date() == dt.date.today()
    html = page(verified_client(scene.world.de.user), f"/cases/{scene.world.case.pk}/registers/")
    assert "ticked by" in html


def test_monitoring__only_after_acceptance(scene: Scene) -> None:
    assurance = Assurance.objects.get()
    client = verified_client(scene.world.de.user)
    url = f"/cases/{scene.world.case.pk}/assurances/{assurance.pk}/tasks/"
    assert client.post(url, {"kind": "visit", "due": "2027-03-01"}).status_code == 409
    scene.send(scene.world.de, "assurance", {"type": "death_penalty", "status": "accepted", "ref": assurance.seq})
    assert client.post(url, {"kind": "visit", "due": "2027-03-01"}).status_code == 302
    task = MonitoringTask.objects.get()
    update = f"/cases/{scene.world.case.pk}/tasks/{task.pk}/"
    assert client.post(update, {"status": "satisfactory", "done_on": ""}).status_code == 400  # a date is needed
    assert client.post(update, {"status": "satisfactory", "done_on": "2026-11-01"}).status_code == 302
    assert MonitoringTask.objects.get().status == "satisfactory"


def test_thread_handling__set_from_the_page(scene: Scene) -> None:
    client = verified_client(scene.world.fr.user)
    url = f"/cases/{scene.world.case.pk}/threads/{scene.thread}/handling/"
    assert client.post(url, {"code": "no_onward_transmission"}).status_code == 302
    assert ThreadHandling.objects.get().code == "no_onward_transmission"
    assert client.post(url, {"code": "made_up"}).status_code == 400
    assert client.post(url, {"code": ""}).status_code == 302
    assert not ThreadHandling.objects.exists()


def test_deadlines_page__profile_countdown_extension_and_met(scene: Scene) -> None:
    client = verified_client(scene.world.fr.user)
    base = f"/cases/{scene.world.case.pk}/deadlines/"
    arrest = dt.date.today() - dt.timedelta(days=10)
    response = client.post(base, {"profile": "ece-1957", "event_provisional_arrest": arrest.isoformat()})
    assert response.status_code == 302
    html = page(client, base)
    assert "8 days left" in html and "Art. 16(4)" in html
    assert_keeps_to_the_csp(html)
    deadline = Deadline.objects.get()
    assert client.post(f"{base}{deadline.pk}/extension/", {"days": "30"}).status_code == 400
    assert client.post(f"{base}{deadline.pk}/extension/", {"days": "22"}).status_code == 302
    assert "30 days left" in page(client, base)
    assert client.post(f"{base}{deadline.pk}/met/", {"met_on": dt.date.today().isoformat()}).status_code == 302
    assert "Met on" in page(client, base)


def test_authority_registers__sorted_by_urgency_with_csv(scene: Scene) -> None:
    client = verified_client(scene.world.fr_supervisor.user)
    html = page(client, "/registers/clarifications/?state=all")
    assert html.index("2026-02-01") < html.index("2026-01-10")  # the open one first, then the answered
    csv = client.get("/registers/clarifications.csv?state=open")
    assert csv["Content-Type"] == "text/csv; charset=utf-8"
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("case,seq,asked_by,answer_by") and len(lines) == 2
    assert_keeps_to_the_csp(page(client, "/registers/assurances/"))


def test_assurance_pages__headings_go_down_one_level_at_a_time(scene: Scene) -> None:
    """The register's cards (h3, then h4) sit under an h2, as on the case's own registers page."""
    client = verified_client(scene.world.fr_supervisor.user)
    html = page(client, "/registers/assurances/")
    assert "Death penalty" in html  # there is a card to check
    assert_headings_nest(html)
    assert_references_resolve(html)
    assert_headings_nest(page(verified_client(scene.world.de.user), f"/cases/{scene.world.case.pk}/registers/"))


def test_statistics_page__charts_tables_and_csv() -> None:
    data = build()
    supervisor = make_user(data.fr_mj, User.Role.SUPERVISOR)
    client = verified_client(supervisor)
    html = page(client, "/statistics/?start=2026-01-01&end=2026-06-30&counterpart=")
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 4
    assert html.count('role="img"') == 4 and 'aria-labelledby="chart-flow-title chart-flow-desc"' in html
    assert "<desc" in html and "Carried forward: 2" in html  # the chart's text alternative
    assert html.count("Download CSV") == 9
    assert_keeps_to_the_csp(html)
    csv = client.get("/statistics/cases_by_kind.csv?start=2026-01-01&end=2026-06-30").content.decode("utf-8-sig")
    assert csv.splitlines()[-1] == "Total,2,4,1,1,1,3"
    filtered = client.get("/statistics/cases_by_kind.csv?start=2026-01-01&end=2026-06-30&counterpart=IT")
    assert filtered.content.decode("utf-8-sig").splitlines()[-1] == "Total,0,3,0,1,1,1"
    assert client.get("/statistics/no_such_table.csv").status_code == 404
    bad_period = page(client, "/statistics/?start=2026-06-30&end=2026-01-01")
    assert "The period must start before it ends." in bad_period


def test_csv__formulas_in_references_are_neutralised() -> None:
    from cases.lib.export import cell, csv_text

    assert cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and cell("-3") == "-3" and cell("@x") == "'@x"
    assert csv_text([("a", "A")], [{"a": "+cmd"}]) == "A\r\n'+cmd\r\n"


def test_notifications_page__lists_and_marks_read(scene: Scene) -> None:
    from cases.actions.notifications import do_send_deadline_notices

    Deadline.objects.create(case=scene.world.case, label="Hearing", due=dt.date.today() + dt.timedelta(days=2))
    do_send_deadline_notices()
    client = verified_client(scene.world.fr.user)
    assert "Notifications (1 new)" in page(client, "/cases/")
    html = page(client, "/notifications/")
    assert "Hearing" in html and "due in 2 days" in html
    # Unread is said in words and shown, not put in aria-current (which means "the current item").
    assert "aria-current" not in html
    unread = re.search(r'<li class="unread">\s*<strong class="badge warn">Unread</strong>', html)
    assert unread, html
    notification = scene.world.fr.user.notifications.get()
    assert client.post("/notifications/", {"id": notification.pk}).status_code == 302
    assert scene.world.fr.user.notifications.get().read_at is not None
    assert verified_client(scene.world.de.user).post("/notifications/", {"id": notification.pk}).status_code == 404
    assert "Notifications (1 new)" not in page(client, "/cases/")
    html = page(client, "/notifications/")
    assert "Hearing" in html and 'class="unread"' not in html and ">Unread<" not in html


def test_clarification_rows__answered_shows_the_answer_time(scene: Scene) -> None:
    answered = Clarification.objects.get(answered_at__isnull=False)
    body = verified_client(scene.world.fr.user).get(f"/api/v1/cases/{scene.world.case.pk}/clarifications").json()
    row = next(r for r in body if r["id"] == answered.pk)
    assert row["answer_by"] == "FR-MJ" and row["open"] is False and row["answer_seq"] == answered.answer.seq
