"""Operators' case admin: DESIGN §1's rules hold there too."""

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from cases.actions.notifications import recipients
from cases.admin import AssignmentInline
from cases.models import Assignment, Case
from consult.models import User
from tests.helpers import make_authority, make_case, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, User]:
    fr, de = make_authority("FR-MJ", "FR"), make_authority("DE-BFJ", "DE")
    return {
        "fr": make_user(fr), "de": make_user(de), "de_sup": make_user(de, User.Role.SUPERVISOR),
        "it": make_user(make_authority("IT-X")), "operator": make_user(None, User.Role.ADMIN),
    }  # fmt: skip


@pytest.fixture
def case(people: dict[str, User]) -> Case:
    return make_case(people["fr"], people["de_sup"].authority)


def operator_request(people: dict[str, User]):  # type: ignore[no-untyped-def]
    User.objects.filter(pk=people["operator"].pk).update(is_superuser=True)
    request = RequestFactory().post("/admin/")
    request.user = User.objects.get(pk=people["operator"].pk)
    return request


@pytest.mark.parametrize(("who", "accepted"), [("de", True), ("it", False), ("de_sup", False)])
def test_assignment__the_admin_assigns_only_officers_of_the_parties(
    people: dict[str, User], case: Case, who: str, accepted: bool
) -> None:
    formset_class = AssignmentInline(Case, site).get_formset(operator_request(people), case)
    data = {"a-TOTAL_FORMS": "1", "a-INITIAL_FORMS": "0", "a-0-user": str(people[who].pk)}
    formset = formset_class(data, instance=case, prefix="a")
    assert formset.is_valid() is accepted
    if accepted:
        formset.save()
    assert Assignment.objects.filter(case=case, user=people[who]).exists() is accepted


def test_case__the_admin_cannot_change_its_parties(people: dict[str, User], case: Case) -> None:
    form = site._registry[Case].get_form(operator_request(people), case)
    assert not {"requesting_authority", "requested_authority"} & set(form.base_fields)
    assert {"requesting_authority", "requested_authority"} <= set(
        site._registry[Case].get_form(operator_request(people)).base_fields
    )


def test_notices__go_to_no_one_outside_the_parties_whatever_the_assignments(
    people: dict[str, User], case: Case
) -> None:
    """An assignment made around the admin's check (a script, an old row) mails no third authority."""
    Assignment.objects.create(case=case, user=people["it"])
    assert people["it"] not in recipients(case)
    assert people["fr"] in recipients(case) and people["de_sup"] in recipients(case)
