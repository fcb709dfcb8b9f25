"""Treaty profiles applied to a case: computed deadlines, extensions, met dates (issue 6 item 3)."""

import datetime as dt

import pytest

from cases.actions.cases import check_update_case
from cases.actions.deadlines import check_extend_deadline, check_mark_deadline_met, check_set_deadline_profile
from cases.models import Case, Deadline, TreatyProfile
from consult.exceptions import BadInput, NotFound
from consult.models import User
from tests.helpers import make_authority, make_case, make_user

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def people() -> dict[str, User]:
    fr, de = make_authority("FR-MJ", "FR"), make_authority("DE-BFJ", "DE")
    return {"fr": make_user(fr), "de_sup": make_user(de, User.Role.SUPERVISOR), "it": make_user(make_authority("IT-X"))}


@pytest.fixture
def case(people: dict[str, User]) -> Case:
    return make_case(people["fr"], people["de_sup"].authority, deadlines=[{"label": "Hearing", "due": D(2027, 2, 1)}])


def computed(case: Case) -> list[tuple[str, dt.date, int]]:
    found = Deadline.objects.filter(case=case, limit__isnull=False).order_by("due")
    return list(found.values_list("label", "due", "extension_days"))


def test_profiles__examples_are_loaded_as_data() -> None:
    assert set(TreatyProfile.objects.values_list("code", flat=True)) >= {
        "ece-1957", "eaw-2002", "eio-2014", "gb-us-2003", "service-standard"
    }  # fmt: skip
    ece = TreatyProfile.objects.get(code="ece-1957").limits.get(code="formal-request")
    assert (ece.days, ece.day_type, ece.extension_days, ece.start_event) == (18, "calendar", 22, "provisional_arrest")


def test_profile__provisional_arrest_at_month_end_gives_the_hand_worked_date(people: dict, case: Case) -> None:
    """ECE Art. 16(4): arrest Sunday 31 Jan 2027 + 18 days = 18 Feb 2027; the surrender limit waits for its event."""
    check_set_deadline_profile(people["fr"], case, "ece-1957", {"provisional_arrest": D(2027, 1, 31)})
    assert computed(case) == [("Formal request after provisional arrest", D(2027, 2, 18), 0)]
    assert Deadline.objects.filter(case=case, limit__isnull=True).count() == 1  # the hand-entered one stays


def test_extension__up_to_the_limit_and_no_further(people: dict, case: Case) -> None:
    """22 more days (40 in all): 31 Jan 2027 + 40 = 12 Mar 2027; 23 is refused and changes nothing."""
    check_set_deadline_profile(people["fr"], case, "ece-1957", {"provisional_arrest": D(2027, 1, 31)})
    deadline = Deadline.objects.get(case=case, limit__isnull=False)
    check_extend_deadline(people["de_sup"], deadline, 22)
    assert computed(case) == [("Formal request after provisional arrest", D(2027, 3, 12), 22)]
    with pytest.raises(BadInput):
        check_extend_deadline(people["fr"], deadline, 23)
    assert computed(case) == [("Formal request after provisional arrest", D(2027, 3, 12), 22)]
    manual = Deadline.objects.get(case=case, limit__isnull=True)
    with pytest.raises(BadInput):
        check_extend_deadline(people["fr"], manual, 1)


def test_profile__working_days_and_changing_events(people: dict, case: Case) -> None:
    """Service standard: request received Fri 27 Nov 2026 → 5 working days = Fri 4 Dec, 20 = Fri 25 Dec."""
    check_set_deadline_profile(people["fr"], case, "service-standard", {"request_received": D(2026, 11, 27)})
    assert [d for _, d, _ in computed(case)] == [D(2026, 12, 4), D(2026, 12, 25)]
    check_set_deadline_profile(people["fr"], case, "service-standard", {"request_received": None})
    assert computed(case) == []


def test_profile__switching_profiles_replaces_computed_deadlines(people: dict, case: Case) -> None:
    check_set_deadline_profile(people["fr"], case, "ece-1957", {"provisional_arrest": D(2027, 1, 31)})
    check_set_deadline_profile(people["fr"], case, "gb-us-2003", {})
    assert computed(case) == [("Formal request after provisional arrest", D(2027, 4, 1), 0)]  # 31 Jan + 60
    check_set_deadline_profile(people["fr"], case, None, {})
    assert computed(case) == []


def test_profile__editing_the_case_keeps_computed_deadlines(people: dict, case: Case) -> None:
    check_set_deadline_profile(people["fr"], case, "ece-1957", {"provisional_arrest": D(2027, 1, 31)})
    check_update_case(people["fr"], case, {"deadlines": [{"label": "Hearing", "due": D(2027, 2, 2)}]})
    assert computed(case) == [("Formal request after provisional arrest", D(2027, 2, 18), 0)]
    assert list(Deadline.objects.filter(case=case, limit__isnull=True).values_list("due", flat=True)) == [D(2027, 2, 2)]


BAD = {
    "unknown profile": ("no-such-treaty", {}),
    "unknown event": ("ece-1957", {"coronation": D(2027, 1, 1)}),
    "not a date": ("ece-1957", {"provisional_arrest": "2027-01-31"}),
}


@pytest.mark.parametrize(("profile", "events"), BAD.values(), ids=BAD.keys())
def test_profile__bad_input_changes_nothing(people: dict, case: Case, profile: str, events: dict) -> None:
    check_set_deadline_profile(people["fr"], case, "ece-1957", {"provisional_arrest": D(2027, 1, 31)})
    before = (computed(case), Case.objects.get(pk=case.pk).treaty_profile_id)
    with pytest.raises(BadInput):
        check_set_deadline_profile(people["fr"], case, profile, events)
    assert (computed(case), Case.objects.get(pk=case.pk).treaty_profile_id) == before


def test_deadlines__a_third_authority_cannot_touch_them(people: dict, case: Case) -> None:
    check_set_deadline_profile(people["fr"], case, "ece-1957", {"provisional_arrest": D(2027, 1, 31)})
    deadline = Deadline.objects.get(case=case, limit__isnull=False)
    for action in (
        lambda: check_set_deadline_profile(people["it"], case, None, {}),
        lambda: check_extend_deadline(people["it"], deadline, 1),
        lambda: check_mark_deadline_met(people["it"], deadline, D(2026, 1, 1)),
    ):
        with pytest.raises(NotFound):
            action()
    assert computed(case) == [("Formal request after provisional arrest", D(2027, 2, 18), 0)]


def test_met__stops_the_countdown_and_cannot_be_in_the_future(people: dict, case: Case) -> None:
    deadline = Deadline.objects.get(case=case)
    with pytest.raises(BadInput):
        check_mark_deadline_met(people["fr"], deadline, dt.date.today() + dt.timedelta(days=2))
    check_mark_deadline_met(people["fr"], deadline, D(2026, 1, 15))
    assert Deadline.objects.get(pk=deadline.pk).met_on == D(2026, 1, 15)
    check_mark_deadline_met(people["fr"], deadline, None)
    assert Deadline.objects.get(pk=deadline.pk).met_on is None


def test_profile__admin_validation_and_recompute_action(people: dict, case: Case) -> None:
    """Operators edit profiles in the admin; bad holidays are refused, and an action recomputes cases."""
    from django.contrib.admin.sites import site
    from django.core.exceptions import ValidationError
    from django.test import RequestFactory

    profile = TreatyProfile.objects.get(code="ece-1957")
    profile.holidays = ["2027-02-30"]
    with pytest.raises(ValidationError):
        profile.full_clean()
    check_set_deadline_profile(people["fr"], case, "ece-1957", {"provisional_arrest": D(2027, 1, 31)})
    profile.limits.filter(code="formal-request").update(days=20)
    request = RequestFactory().post("/admin/")
    request._messages = type("Messages", (), {"add": lambda *a, **k: None})()  # type: ignore[attr-defined]
    site._registry[TreatyProfile].recompute(request, TreatyProfile.objects.filter(pk=profile.pk))  # type: ignore[attr-defined]
    assert computed(case) == [("Formal request after provisional arrest", D(2027, 2, 20), 0)]
