"""Who sees a case, on pages and API alike; outsiders get identical 404s (DESIGN §1)."""

import uuid

import pytest
from django.test import Client

from consult.models import User
from tests.helpers import assign, make_authority, make_case, make_user, verified_client

pytestmark = pytest.mark.django_db

CASE_URLS = ("/cases/{id}/", "/cases/{id}/edit/", "/cases/{id}/assign/", "/api/v1/cases/{id}")


@pytest.fixture
def world() -> dict[str, object]:
    fr, de, it = make_authority("FR-A"), make_authority("DE-B", "DE"), make_authority("IT-C", "IT")
    people = {
        "assigned_requesting": make_user(fr),
        "unassigned_requesting": make_user(fr),
        "supervisor_requesting": make_user(fr, User.Role.SUPERVISOR),
        "assigned_requested": make_user(de),
        "supervisor_requested": make_user(de, User.Role.SUPERVISOR),
        "officer_third": make_user(it),
        "supervisor_third": make_user(it, User.Role.SUPERVISOR),
        "liaison_party": make_user(fr, User.Role.LIAISON),
    }
    case = make_case(people["assigned_requesting"], de)  # type: ignore[arg-type]
    assign(people["assigned_requested"], case, people["assigned_requested"])  # type: ignore[arg-type]
    return {"case": case, **people}


SEES = {
    "assigned_requesting": True,
    "unassigned_requesting": False,
    "supervisor_requesting": True,
    "assigned_requested": True,
    "supervisor_requested": True,
    "officer_third": False,
    "supervisor_third": False,
    "liaison_party": False,
}


@pytest.mark.parametrize(("who", "sees"), SEES.items())
def test_visibility_matrix__pages_and_api(world: dict, who: str, sees: bool) -> None:
    case = world["case"]
    client = verified_client(world[who])
    for template in CASE_URLS:
        response = client.get(template.format(id=case.pk))
        assert response.status_code == (200 if sees else 404), (who, template)
    listed = client.get("/api/v1/cases").json()
    assert (str(case.pk) in [c["id"] for c in listed]) is sees
    page = client.get("/cases/")
    assert (case.requesting_reference.encode() in page.content) is sees


@pytest.mark.parametrize("who", [w for w, sees in SEES.items() if not sees])
def test_visibility__outsider_404_identical_to_missing_case(world: dict, who: str) -> None:
    """The body for a hidden case is byte-identical to that for a case that does not exist."""
    client = verified_client(world[who])
    for template in CASE_URLS:
        hidden = client.get(template.format(id=world["case"].pk))
        missing = client.get(template.format(id=uuid.uuid4()))
        assert hidden.status_code == missing.status_code == 404
        assert hidden.content == missing.content, template
    assert (
        client.patch(
            f"/api/v1/cases/{world['case'].pk}", {"status": "closed"}, content_type="application/json"
        ).status_code
        == 404
    )
    world["case"].refresh_from_db()
    assert world["case"].status == "open"


def test_visibility__anonymous_redirected_or_401(world: dict) -> None:
    client = Client()
    assert client.get(f"/cases/{world['case'].pk}/").status_code == 302
    assert client.get(f"/api/v1/cases/{world['case'].pk}").status_code == 401


def test_visibility__liaison_never_gets_the_case_list(world: dict) -> None:
    client = verified_client(world["liaison_party"])
    assert client.get("/api/v1/cases").json() == []
    assert client.get("/cases/new/").status_code == 404
