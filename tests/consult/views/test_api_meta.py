"""The API describes itself and answers ``me``."""

import pytest
from django.test import Client

from consult.models import User
from tests.helpers import make_authority, make_user, verified_client

pytestmark = pytest.mark.django_db


def test_openapi__lists_the_paths_of_design_section_7() -> None:
    client = verified_client(make_user(make_authority()))
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/me", "/api/v1/cases", "/api/v1/cases/{case_id}"):
        assert path in spec["paths"], path
    assert set(spec["paths"]["/api/v1/cases/{case_id}"]) >= {"get", "patch"}


def test_openapi__not_served_before_second_factor() -> None:
    assert Client().get("/api/v1/openapi.json").status_code == 401


def test_me__user_authority_role() -> None:
    authority = make_authority("FR-ME")
    user = make_user(authority, User.Role.SUPERVISOR)
    body = verified_client(user).get("/api/v1/me").json()
    assert body["id"] == str(user.pk) and body["role"] == "supervisor"
    assert body["authority"]["code"] == "FR-ME"
