"""``manage.py run_deadlines``: notices at 10 and 3 days and when passed, once each, in-app and by e-mail."""

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.management import call_command

from cases.actions.cases import check_update_case
from cases.actions.deadlines import check_extend_deadline, check_mark_deadline_met, check_set_deadline_profile
from cases.models import Case, Deadline, Notification
from consult.models import User
from tests.helpers import assign, make_authority, make_case, make_user

pytestmark = pytest.mark.django_db
D = dt.date
DUE = D(2027, 2, 18)  # ECE: provisional arrest 31 Jan 2027 + 18 days


@pytest.fixture(autouse=True)
def _thresholds(settings):  # type: ignore[no-untyped-def]
    settings.COMITY_DEADLINE_NOTICE_DAYS = (10, 3)


@pytest.fixture
def people() -> dict[str, User]:
    fr, de, it = make_authority("FR-MJ", "FR"), make_authority("DE-BFJ", "DE"), make_authority("IT-MG", "IT")
    return {
        "fr": make_user(fr, email="fr@example.org"),
        "fr_unassigned": make_user(fr, email="fr2@example.org"),
        "fr_sup": make_user(fr, User.Role.SUPERVISOR, email="fr-sup@example.org"),
        "de": make_user(de, email="de@example.org"),
        "de_sup": make_user(de, User.Role.SUPERVISOR, email="de-sup@example.org"),
        "it_sup": make_user(it, User.Role.SUPERVISOR, email="it-sup@example.org"),
        "fr_liaison": make_user(make_authority("FR-ML", "FR"), User.Role.LIAISON, email="liaison@example.org"),
    }


@pytest.fixture
def case(people: dict[str, User]) -> Case:
    case = make_case(people["fr"], people["de"].authority, requesting_reference="EPI-2027-0042",
                     requested_reference="BfJ-II-7")  # fmt: skip
    assign(people["de"], case, people["de"])
    check_set_deadline_profile(people["fr"], case, "ece-1957", {"provisional_arrest": D(2027, 1, 31)})
    return case


def run(today: dt.date) -> str:
    out = io.StringIO()
    call_command("run_deadlines", "--today", today.isoformat(), stdout=out)
    return out.getvalue()


RECIPIENTS = ["de-sup@example.org", "de@example.org", "fr-sup@example.org", "fr@example.org"]


def test_run__notifies_at_10_and_3_days_and_when_passed_once_each(case: Case) -> None:
    """A daily run from 20 days before the due date to 5 days after it sends exactly three rounds."""
    for offset in range(-20, 6):
        run(DUE + dt.timedelta(days=offset))
        run(DUE + dt.timedelta(days=offset))  # the scheduler fired twice: nothing more
    subjects = [m.subject for m in mail.outbox]
    assert len(mail.outbox) == 3 * len(RECIPIENTS)
    assert sorted(m.to[0] for m in mail.outbox[:4]) == RECIPIENTS
    label = "Formal request after provisional arrest"
    assert subjects[0] == f"[Comity] EPI-2027-0042 / BfJ-II-7: {label} is due in 10 days (2027-02-18)"
    assert subjects[4] == f"[Comity] EPI-2027-0042 / BfJ-II-7: {label} is due in 3 days (2027-02-18)"
    assert subjects[8] == f"[Comity] EPI-2027-0042 / BfJ-II-7: {label} passed on 2027-02-18"
    assert "EPI-2027-0042" in mail.outbox[0].body and f"/cases/{case.pk}/deadlines/" in mail.outbox[0].body
    in_app = Notification.objects.filter(user__email="fr@example.org").order_by("pk")
    assert [(n.kind, n.days_left) for n in in_app] == [
        ("deadline_approaching", 10), ("deadline_approaching", 3), ("deadline_passed", -1)
    ]  # fmt: skip


def test_run__a_missed_day_sends_only_the_most_urgent_notice(case: Case) -> None:
    out = run(DUE - dt.timedelta(days=2))
    assert "1 notice(s) sent" in out
    assert {m.subject.split(" is due in ")[1] for m in mail.outbox} == {"2 days (2027-02-18)"}
    run(DUE - dt.timedelta(days=1))
    assert len(mail.outbox) == len(RECIPIENTS)


def test_run__nobody_else_hears_of_it(case: Case, people: dict[str, User]) -> None:
    run(DUE)
    told = {m.to[0] for m in mail.outbox}
    assert told == set(RECIPIENTS)
    for outsider in ("it_sup", "fr_unassigned", "fr_liaison"):
        assert not Notification.objects.filter(user=people[outsider]).exists()


def test_run__an_extension_starts_the_notices_afresh_for_the_new_date(case: Case, people: dict) -> None:
    run(DUE - dt.timedelta(days=3))
    assert len(mail.outbox) == len(RECIPIENTS)
    check_extend_deadline(people["fr"], Deadline.objects.get(case=case, limit__isnull=False), 22)  # to 12 Mar
    run(DUE - dt.timedelta(days=3))
    assert len(mail.outbox) == len(RECIPIENTS)  # 12 Mar is 25 days away: nothing yet
    run(D(2027, 3, 2))
    assert len(mail.outbox) == 2 * len(RECIPIENTS)
    assert "is due in 10 days (2027-03-12)" in mail.outbox[-1].subject


def test_run__met_deadlines_and_concluded_cases_are_quiet(case: Case, people: dict) -> None:
    deadline = Deadline.objects.get(case=case, limit__isnull=False)
    check_mark_deadline_met(people["fr"], deadline, D(2026, 11, 1))
    run(DUE + dt.timedelta(days=1))
    assert mail.outbox == []
    check_mark_deadline_met(people["fr"], deadline, None)
    check_update_case(people["fr"], case, {"status": Case.Status.CLOSED})
    run(DUE + dt.timedelta(days=1))
    assert mail.outbox == []


def test_run__bad_date_is_a_command_error() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("run_deadlines", "--today", "2027-02-30")
