"""The workflow API under /api/v1/: registers, deadlines, notifications, statistics (issue 6 item 6)."""

import datetime as dt

import pytest

from cases.actions.notifications import do_send_deadline_notices
from cases.models import Assurance, Deadline, ThreadHandling
from consult.models import User
from tests.cases.stats_data import build
from tests.cases.workflow import Scene, make_scene, snapshot
from tests.helpers import make_user, verified_client

pytestmark = pytest.mark.django_db
JSON = "application/json"
PATHS = {
    "/api/v1/cases/{case_id}/assurances": {"get"},
    "/api/v1/cases/{case_id}/clarifications": {"get"},
    "/api/v1/assurances": {"get"},
    "/api/v1/clarifications": {"get"},
    "/api/v1/assurances/{assurance_id}/checklist/{point}": {"put"},
    "/api/v1/assurances/{assurance_id}/tasks": {"post"},
    "/api/v1/monitoring-tasks/{task_id}": {"patch"},
    "/api/v1/threads/{thread_id}/handling": {"get", "put"},
    "/api/v1/treaty-profiles": {"get"},
    "/api/v1/cases/{case_id}/deadlines": {"get"},
    "/api/v1/cases/{case_id}/deadline-profile": {"put"},
    "/api/v1/cases/{case_id}/deadlines/{deadline_id}/extension": {"put"},
    "/api/v1/cases/{case_id}/deadlines/{deadline_id}/met": {"put"},
    "/api/v1/notifications": {"get"},
    "/api/v1/notifications/{notification_id}/read": {"post"},
    "/api/v1/statistics": {"get"},
}


@pytest.fixture
def scene() -> Scene:
    scene = make_scene()
    first = scene.send(scene.world.de, "assurance", {"type": "prison_conditions", "status": "requested"})
    scene.send(scene.world.fr, "assurance", {"type": "prison_conditions", "status": "offered", "ref": first})
    scene.send(scene.world.de, "assurance", {"type": "prison_conditions", "status": "accepted", "ref": first})
    return scene


def test_openapi__describes_every_workflow_operation(scene: Scene) -> None:
    spec = verified_client(scene.world.fr.user).get("/api/v1/openapi.json").json()
    for path, methods in PATHS.items():
        assert path in spec["paths"], path
        assert set(spec["paths"][path]) >= methods, path


def test_api__checklist_and_monitoring_round_trip(scene: Scene) -> None:
    assurance = Assurance.objects.get()
    de = verified_client(scene.world.de.user)
    body = de.put(f"/api/v1/assurances/{assurance.pk}/checklist/binding", {"ticked": True}, content_type=JSON)
    assert body.status_code == 200, body.json()
    checks = {c["point"]: c for c in body.json()["checklist"]}
    assert checks["binding"]["ticked"] is True and checks["binding"]["at"] and checks["specific"]["ticked"] is False
    assert [s["status"] for s in body.json()["history"]] == ["requested", "offered", "accepted"]
    fr = verified_client(scene.world.fr.user)
    refused = fr.put(f"/api/v1/assurances/{assurance.pk}/checklist/binding", {"ticked": False}, content_type=JSON)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    task = de.post(f"/api/v1/assurances/{assurance.pk}/tasks", {"kind": "visit", "due": "2027-01-15"},
                   content_type=JSON)  # fmt: skip
    assert task.status_code == 201 and task.json()["status"] == "open"
    done = fr.patch(f"/api/v1/monitoring-tasks/{task.json()['id']}", {"status": "concerns", "done_on": "2026-11-20"},
                    content_type=JSON)  # fmt: skip
    assert done.status_code == 200 and done.json()["status"] == "concerns"
    register = de.get("/api/v1/assurances?status=accepted").json()
    assert [a["tasks"][0]["status"] for a in register] == ["concerns"]
    assert de.get("/api/v1/assurances?status=withdrawn").json() == []


BAD_BODIES = {
    "unknown field": ("put", "/api/v1/assurances/{a}/checklist/binding", {"ticked": True, "note": "x"}),
    "not a boolean": ("put", "/api/v1/assurances/{a}/checklist/binding", {"ticked": "maybe"}),
    "unknown point": ("put", "/api/v1/assurances/{a}/checklist/pretty", {"ticked": True}),
    "unknown task kind": ("post", "/api/v1/assurances/{a}/tasks", {"kind": "party", "due": "2027-01-15"}),
    "impossible date": ("post", "/api/v1/assurances/{a}/tasks", {"kind": "visit", "due": "2027-02-30"}),
    "unknown handling": ("put", "/api/v1/threads/{t}/handling", {"code": "secret"}),
    "unknown event": ("put", "/api/v1/cases/{c}/deadline-profile", {"profile": "ece-1957", "events": {"x": None}}),
    "unknown profile": ("put", "/api/v1/cases/{c}/deadline-profile", {"profile": "nope", "events": {}}),
}


@pytest.mark.parametrize(("method", "url", "body"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_api__bad_input_is_400_and_changes_nothing(scene: Scene, method: str, url: str, body: dict) -> None:
    client = verified_client(scene.world.de.user)
    target = url.format(a=Assurance.objects.get().pk, t=scene.thread, c=scene.world.case.pk)
    before = (snapshot(), list(Deadline.objects.values_list("due")), ThreadHandling.objects.count())
    response = getattr(client, method)(target, body, content_type=JSON)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "bad_request"
    assert (snapshot(), list(Deadline.objects.values_list("due")), ThreadHandling.objects.count()) == before


def test_api__handling_codes_of_a_thread(scene: Scene) -> None:
    fr = verified_client(scene.world.fr.user)
    put = fr.put(f"/api/v1/threads/{scene.thread}/handling", {"code": "no_onward_transmission"}, content_type=JSON)
    assert put.status_code == 200 and put.json()["default"] == "no_onward_transmission"
    scene.send(scene.world.de, "note")
    items = fr.get(f"/api/v1/threads/{scene.thread}/handling").json()["items"]
    assert items[-1] == {**items[-1], "kind": "note", "handling": "no_onward_transmission", "inherited": True}
    assert items[0]["handling"] == "" and items[0]["side"] == "requested"


def test_api__deadlines_profile_extension_met_and_notifications(scene: Scene) -> None:
    fr = verified_client(scene.world.fr.user)
    case = scene.world.case.pk
    profiles = {p["code"]: p for p in fr.get("/api/v1/treaty-profiles").json()}
    assert profiles["gb-us-2003"]["state_a"] == "GB" and profiles["ece-1957"]["limits"][0]["days"] == 18
    arrest = dt.date.today() - dt.timedelta(days=15)
    change = {"profile": "ece-1957", "events": {"provisional_arrest": arrest.isoformat()}}
    body = fr.put(f"/api/v1/cases/{case}/deadline-profile", change, content_type=JSON)
    assert body.status_code == 200, body.content
    running = body.json()["deadlines"][0]
    assert (running["days_left"], running["state"], running["extension_max"]) == (3, "soon", 22)
    extended = fr.put(f"/api/v1/cases/{case}/deadlines/{running['id']}/extension", {"days": 22}, content_type=JSON)
    assert extended.json()["days_left"] == 25 and extended.json()["due"] == (arrest + dt.timedelta(40)).isoformat()
    do_send_deadline_notices()
    assert fr.get("/api/v1/notifications?unread=true").json() == []  # 25 days away: no notice yet
    met = fr.put(f"/api/v1/cases/{case}/deadlines/{running['id']}/met", {"met_on": dt.date.today().isoformat()},
                 content_type=JSON)  # fmt: skip
    assert met.json()["state"] == "met"


def test_api__notifications_are_read_by_their_owner_only(scene: Scene) -> None:
    Deadline.objects.create(case=scene.world.case, label="Hearing", due=dt.date.today() + dt.timedelta(days=1))
    do_send_deadline_notices()
    fr = verified_client(scene.world.fr.user)
    (notice,) = fr.get("/api/v1/notifications").json()
    assert notice["label"] == "Hearing" and notice["days_left"] == 1 and notice["read_at"] is None
    assert verified_client(scene.world.de.user).post(f"/api/v1/notifications/{notice['id']}/read").status_code == 404
    assert fr.post(f"/api/v1/notifications/{notice['id']}/read").json()["read_at"] is not None
    assert fr.get("/api/v1/notifications?unread=true").json() == []


def test_api__statistics_for_supervisors() -> None:
    data = build()
    client = verified_client(make_user(data.fr_mj, User.Role.SUPERVISOR))
    body = client.get("/api/v1/statistics?start=2026-01-01&end=2026-06-30&counterpart=it").json()
    assert (body["authority"], body["counterpart"], body["start"]) == ("FR-MJ", "IT", "2026-01-01")
    total = body["tables"]["cases_by_kind"]["rows"][-1]
    assert [total[k] for k in ("carried_forward", "new", "granted", "refused", "withdrawn", "pending")] == [
        0, 3, 0, 1, 1, 1
    ]  # fmt: skip
    assert body["tables"]["cases_by_kind"]["columns"][1] == {"key": "carried_forward", "label": "Carried forward"}
    bad = client.get("/api/v1/statistics?start=2026-06-30&end=2026-01-01")
    assert bad.status_code == 400


def test_api__an_officer_taken_off_a_case_no_longer_sees_its_notices(scene: Scene) -> None:
    """A notice names a case: once unassigned, the officer cannot open the case, and its notices go too."""
    from cases.models import Assignment

    Deadline.objects.create(case=scene.world.case, label="Hearing", due=dt.date.today() + dt.timedelta(days=1))
    do_send_deadline_notices()
    fr = verified_client(scene.world.fr.user)
    (notice,) = fr.get("/api/v1/notifications").json()
    Assignment.objects.filter(case=scene.world.case, user=scene.world.fr.user).delete()
    assert fr.get("/api/v1/notifications").json() == []
    assert fr.post(f"/api/v1/notifications/{notice['id']}/read").status_code == 404
    assert "Hearing" not in fr.get("/notifications/").content.decode()
    assert "Notifications (1 new)" not in fr.get("/cases/").content.decode()
