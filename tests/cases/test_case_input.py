"""Creating and editing cases: clear errors for bad input, and nothing changed."""

import datetime as dt
import re

import pytest

from cases.models import Case, Deadline
from consult.exceptions import BadInput
from consult.models import Authority, User
from tests.helpers import make_authority, make_case, make_user, verified_client
from tests.markup import assert_references_resolve

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer() -> User:
    make_authority("DE-BFJ", "DE")
    return make_user(make_authority("FR-MJ"))


def _valid() -> dict:
    return {
        "requesting_authority": "FR-MJ",
        "requested_authority": "DE-BFJ",
        "requesting_reference": "EPI-1",
        "kind": "extradition",
        "legal_basis": "bilateral_treaty",
        "legal_basis_name": "Treaty of Example",
        "deadlines": [{"label": "Provisional arrest ends", "due": "2026-12-31"}],
    }


BAD = {
    "unknown authority": ({"requested_authority": "XX-NOPE"}, "requested_authority"),
    "case with itself": ({"requested_authority": "FR-MJ"}, "requested_authority"),
    "bad date": ({"deadlines": [{"label": "x", "due": "2026-02-30"}]}, "deadlines"),
    "overlong reference": ({"requesting_reference": "R" * 101}, "requesting_reference"),
    "unknown kind": ({"kind": "kidnapping"}, "kind"),
    "unknown field": ({"person_sought": "John Doe"}, "person_sought"),
    "wrong type": ({"requesting_reference": 12}, "requesting_reference"),
    "treaty without a name": ({"legal_basis_name": ""}, "legal_basis_name"),
    "third parties": ({"requesting_authority": "DE-BFJ", "requested_authority": "IT-X"}, "requesting_authority"),
}


def test_api_create__valid_case_is_opened_and_creator_assigned(officer: User) -> None:
    response = verified_client(officer).post("/api/v1/cases", _valid(), content_type="application/json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["requested_authority"] == "DE-BFJ" and body["deadlines"][0]["due"] == "2026-12-31"
    assert Case.objects.get().assignees.get() == officer


@pytest.mark.parametrize(("change", "field"), BAD.values(), ids=BAD.keys())
def test_api_create__bad_input_names_the_field_and_changes_nothing(officer: User, change: dict, field: str) -> None:
    make_authority("IT-X", "IT")
    response = verified_client(officer).post("/api/v1/cases", {**_valid(), **change}, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_request"
    assert any(key.startswith(field) for key in body["fields"]), body
    assert Case.objects.count() == 0 and Deadline.objects.count() == 0


def test_api_create__malformed_json_is_a_clear_error(officer: User) -> None:
    response = verified_client(officer).post("/api/v1/cases", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert Case.objects.count() == 0


def test_api_create__needs_csrf_token(officer: User) -> None:
    client = verified_client(officer, enforce_csrf_checks=True)
    response = client.post("/api/v1/cases", _valid(), content_type="application/json")
    assert response.status_code == 403
    assert Case.objects.count() == 0


def test_api_update__changes_fields_and_refuses_bad_ones(officer: User) -> None:
    case = make_case(officer, make_authority("ES-X", "ES"))
    client = verified_client(officer)
    ok = client.patch(f"/api/v1/cases/{case.pk}", {"status": "decided"}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["status"] == "decided"
    bad = client.patch(
        f"/api/v1/cases/{case.pk}", {"status": "closed", "requesting_reference": ""}, content_type="application/json"
    )
    assert bad.status_code == 400 and "requesting_reference" in bad.json()["fields"]
    case.refresh_from_db()
    assert case.status == "decided" and case.requesting_reference


@pytest.mark.parametrize(
    ("change", "field"),
    [
        v
        for k, v in BAD.items()
        if k in ("unknown authority", "case with itself", "overlong reference", "treaty without a name")
    ],
    ids=str,
)
def test_page_create__bad_input_shows_form_error_and_changes_nothing(officer: User, change: dict, field: str) -> None:
    data = {**_valid(), **change}
    form = {k: v for k, v in data.items() if k != "deadlines"}
    form.update(
        {
            "status": "open",
            "deadline-TOTAL_FORMS": "1",
            "deadline-INITIAL_FORMS": "0",
            "deadline-0-label": "Arrest ends",
            "deadline-0-due": "2026-12-31",
        }
    )
    response = verified_client(officer).post("/cases/new/", form)
    assert response.status_code == 400
    assert b'class="error"' in response.content or b"form-errors" in response.content
    assert Case.objects.count() == 0
    assert_references_resolve(response.content.decode())  # aria-describedby names the error shown


def test_page_create__valid_form_opens_case(officer: User) -> None:
    form = {k: v for k, v in _valid().items() if k != "deadlines"}
    form.update(
        {
            "status": "open",
            "deadline-TOTAL_FORMS": "1",
            "deadline-INITIAL_FORMS": "0",
            "deadline-0-label": "Arrest ends",
            "deadline-0-due": "2026-12-31",
        }
    )
    response = verified_client(officer).post("/cases/new/", form)
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.deadlines.get().label == "Arrest ends"


def test_page_create__bad_date_is_a_form_error(officer: User) -> None:
    form = {k: v for k, v in _valid().items() if k != "deadlines"}
    form.update(
        {
            "status": "open",
            "deadline-TOTAL_FORMS": "1",
            "deadline-INITIAL_FORMS": "0",
            "deadline-0-label": "Arrest ends",
            "deadline-0-due": "2026-02-30",
        }
    )
    response = verified_client(officer).post("/cases/new/", form)
    assert response.status_code == 400 and Case.objects.count() == 0
    page = assert_references_resolve(response.content.decode())
    assert page.find("input", name="deadline-0-due")["aria-describedby"] == "id_deadline-0-due_error"


def test_page_assign__an_officer_refused_is_an_error_on_the_field(officer: User) -> None:
    """The checkbox group names its error, and the error is on the page."""
    case = make_case(officer, Authority.objects.get(code="DE-BFJ"))
    outsider = make_user(make_authority("IT-X", "IT"))
    response = verified_client(officer).post(f"/cases/{case.pk}/assign/", {"officers": [str(outsider.pk)]})
    assert response.status_code == 400
    html = response.content.decode()
    page = assert_references_resolve(html)
    assert page.find("fieldset", aria_describedby="id_officers_error")
    error = re.search(r'<div class="error" id="id_officers_error">(.*?)</div>', html, re.S)
    assert error and "Select a valid choice" in error.group(1)
    assert list(case.assignees.all()) == [officer]


def test_page_assign__an_error_of_the_whole_form_is_announced(officer: User, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """What the action refuses (an officer deactivated meanwhile) is shown as an alert above the form."""
    from cases.views import pages

    def refuse(*args: object) -> None:
        raise BadInput(fields={"officers": ["Only active officers of your authority can be assigned."]})

    monkeypatch.setattr(pages, "check_set_assignments", refuse)
    case = make_case(officer, Authority.objects.get(code="DE-BFJ"))
    response = verified_client(officer).post(f"/cases/{case.pk}/assign/", {"officers": [str(officer.pk)]})
    assert response.status_code == 400
    html = response.content.decode()
    assert_references_resolve(html)
    alert = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', html, re.S)
    assert alert and "Only active officers of your authority" in alert.group(1)


def test_list_filters__status_kind_counterpart_overdue_reference(officer: User) -> None:
    de, es = make_authority("DE-X", "DE"), make_authority("ES-Y", "ES")
    a = make_case(
        officer,
        de,
        requesting_reference="ALPHA-1",
        deadlines=[{"label": "x", "due": dt.date(2020, 1, 1)}],
    )
    b = make_case(officer, es, requesting_reference="BETA-2", kind="mla", status="decided")
    client = verified_client(officer)

    def ids(query: str) -> set[str]:
        return {c["id"] for c in client.get("/api/v1/cases" + query).json()}

    assert ids("?status=decided") == {str(b.pk)}
    assert ids("?kind=mla") == {str(b.pk)}
    assert ids("?counterpart=DE-X") == {str(a.pk)}
    assert ids("?overdue=true") == {str(a.pk)}
    assert ids("?q=beta") == {str(b.pk)}
    page = client.get("/cases/?overdue=on")
    assert b"ALPHA-1" in page.content and b"BETA-2" not in page.content
