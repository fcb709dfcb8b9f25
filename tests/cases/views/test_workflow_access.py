"""A third authority sees nothing of a case in any register, statistic, CSV or API answer (DESIGN §1)."""

import datetime as dt
import uuid

import pytest
from django.test import Client

from cases.actions.assurances import check_add_monitoring_task, check_set_thread_handling
from cases.actions.deadlines import check_set_deadline_profile
from cases.models import Assurance, Case, Deadline, MonitoringTask
from consult.models import Authority, Thread, User
from tests.cases.workflow import Scene, make_scene, snapshot
from tests.helpers import make_user, verified_client

pytestmark = pytest.mark.django_db
REFERENCE = "EPI-SECRET-77"
MISSING = {"case": str(uuid.uuid4()), "thread": str(uuid.uuid4()), "assurance": 987654, "task": 987654,
           "deadline": 987654}  # fmt: skip


@pytest.fixture
def scene() -> Scene:
    scene = make_scene()
    w = scene.world
    Case.objects.filter(pk=w.case.pk).update(requesting_reference=REFERENCE, requested_reference="BFJ-HIDDEN")
    asked = scene.send(w.fr, "clarification", {"due": "2026-12-01"})
    scene.send(w.de, "answer", {"clarification": asked})
    scene.send(w.fr, "clarification", {"due": "2026-01-01"})
    first = scene.send(w.de, "assurance", {"type": "torture", "status": "requested"})
    scene.send(w.fr, "assurance", {"type": "torture", "status": "offered", "ref": first})
    scene.send(w.de, "assurance", {"type": "torture", "status": "accepted", "ref": first})
    check_add_monitoring_task(w.de.user, Assurance.objects.get(), "visit", dt.date(2026, 1, 5))
    check_set_thread_handling(w.fr.user, Thread.objects.select_related("case").get(pk=scene.thread), "information_only")
    check_set_deadline_profile(w.fr.user, w.case, "ece-1957", {"provisional_arrest": dt.date(2026, 11, 1)})
    return scene


def ids(scene: Scene) -> dict[str, object]:
    return {
        "case": str(scene.world.case.pk), "thread": scene.thread, "assurance": Assurance.objects.get().pk,
        "task": MonitoringTask.objects.get().pk, "deadline": Deadline.objects.get().pk,
    }  # fmt: skip


CASE_READS = (
    "/cases/{case}/registers/", "/cases/{case}/deadlines/", "/api/v1/cases/{case}/assurances",
    "/api/v1/cases/{case}/clarifications", "/api/v1/cases/{case}/deadlines", "/api/v1/threads/{thread}/handling",
)  # fmt: skip
CASE_WRITES = (
    ("post", "/cases/{case}/assurances/{assurance}/checklist/", {"point": "specific", "ticked": "1"}),
    ("post", "/cases/{case}/assurances/{assurance}/tasks/", {"kind": "visit", "due": "2026-12-01"}),
    ("post", "/cases/{case}/tasks/{task}/", {"status": "satisfactory", "done_on": "2026-01-05"}),
    ("post", "/cases/{case}/threads/{thread}/handling/", {"code": ""}),
    ("post", "/cases/{case}/deadlines/", {"profile": ""}),
    ("post", "/cases/{case}/deadlines/{deadline}/extension/", {"days": "3"}),
    ("post", "/cases/{case}/deadlines/{deadline}/met/", {"met_on": "2026-11-02"}),
    ("put", "/api/v1/assurances/{assurance}/checklist/specific", {"ticked": True}),
    ("post", "/api/v1/assurances/{assurance}/tasks", {"kind": "visit", "due": "2026-12-01"}),
    ("patch", "/api/v1/monitoring-tasks/{task}", {"status": "satisfactory", "done_on": "2026-01-05"}),
    ("put", "/api/v1/threads/{thread}/handling", {"code": None}),
    ("put", "/api/v1/cases/{case}/deadline-profile", {"profile": None, "events": {}}),
    ("put", "/api/v1/cases/{case}/deadlines/{deadline}/extension", {"days": 3}),
    ("put", "/api/v1/cases/{case}/deadlines/{deadline}/met", {"met_on": "2026-11-02"}),
)
AUTHORITY_READS = (
    "/registers/assurances/", "/registers/assurances.csv", "/registers/clarifications/?state=all",
    "/registers/clarifications.csv?state=all", "/statistics/?start=2025-01-01&end=2026-12-31",
    "/api/v1/assurances", "/api/v1/clarifications?state=all", "/api/v1/notifications",
    "/api/v1/statistics?start=2025-01-01&end=2026-12-31",
) + tuple(
    f"/statistics/{name}.csv?start=2025-01-01&end=2026-12-31" for name in (
        "cases_by_kind", "cases_by_counterpart", "cases_by_direction", "cases_by_status", "clarifications",
        "assurances", "overdue", "overdue_list", "volume",
    )
)  # fmt: skip


def _send(client: Client, method: str, url: str, body: dict) -> object:
    if url.startswith("/api/"):
        return getattr(client, method)(url, body, content_type="application/json")
    return client.post(url, body)


@pytest.fixture
def outsiders(scene: Scene) -> dict[str, User]:
    it = Authority.objects.get(code="IT-MG")
    return {"supervisor_third": make_user(it, User.Role.SUPERVISOR), "officer_third": scene.world.outsider.user,
            "unassigned_party_officer": make_user(Authority.objects.get(code="FR-MJ"))}  # fmt: skip


@pytest.mark.parametrize("who", ["supervisor_third", "officer_third", "unassigned_party_officer"])
def test_case_registers__outsiders_get_the_404_of_a_missing_case(scene: Scene, outsiders: dict, who: str) -> None:
    client = verified_client(outsiders[who])
    real = ids(scene)
    for template in CASE_READS:
        hidden, missing = client.get(template.format(**real)), client.get(template.format(**MISSING))
        assert hidden.status_code == missing.status_code == 404, template
        assert hidden.content == missing.content, template
    before = snapshot()
    for method, template, body in CASE_WRITES:
        hidden = _send(client, method, template.format(**real), body)
        missing = _send(client, method, template.format(**MISSING), body)
        assert hidden.status_code == missing.status_code == 404, template  # type: ignore[attr-defined]
        assert hidden.content == missing.content, template  # type: ignore[attr-defined]
    assert snapshot() == before


def test_authority_views__a_third_supervisor_sees_no_trace(scene: Scene, outsiders: dict) -> None:
    """Registers, statistics, every CSV and the API answer, but with nothing of the case in them."""
    client = verified_client(outsiders["supervisor_third"])
    secrets = [REFERENCE, "BFJ-HIDDEN", str(scene.world.case.pk), scene.thread, "Dual criminality", "DE-BFJ"]
    for url in AUTHORITY_READS:
        response = client.get(url)
        assert response.status_code == 200, url
        for secret in secrets:
            assert secret.encode() not in response.content, (url, secret)
    body = client.get("/api/v1/statistics?start=2025-01-01&end=2026-12-31").json()
    for table in body["tables"].values():
        for row in table["rows"]:
            assert all(not isinstance(v, int) or v == 0 for k, v in row.items() if k != "days_overdue"), row
    assert client.get("/api/v1/assurances").json() == []
    assert client.get("/api/v1/clarifications?state=all").json() == []


def test_authority_views__the_parties_supervisors_do_see_it(scene: Scene) -> None:
    """Control for the test above: the same URLs name the case for a party's supervisor."""
    client = verified_client(scene.world.de_supervisor.user)
    for url in ("/registers/assurances/", "/registers/clarifications.csv?state=all", "/api/v1/assurances"):
        assert REFERENCE.encode() in client.get(url).content, url
    tables = client.get("/api/v1/statistics?start=2025-01-01&end=2026-12-31").json()["tables"]
    assert tables["cases_by_kind"]["rows"][-1]["new"] == 1


def test_liaisons_and_officers__no_statistics_and_liaisons_no_registers(scene: Scene) -> None:
    liaison = scene.add_liaison()
    for user, urls in (
        (liaison.user, AUTHORITY_READS + ("/cases/{case}/registers/".format(**ids(scene)),)),
        (scene.world.fr.user, [u for u in AUTHORITY_READS if "statistics" in u]),
    ):
        client = verified_client(user)
        for url in urls:
            if url == "/api/v1/notifications":
                continue  # everyone has their own (empty) list
            assert client.get(url).status_code == 404, (user.role, url)
