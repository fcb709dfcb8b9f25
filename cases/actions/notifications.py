"""Deadline notices, in-app and by e-mail (issue 6 item 3; docs/decisions.md, "Deadlines").

:func:`do_send_deadline_notices` is what ``manage.py run_deadlines`` runs.
For each open deadline it works out the notice due today (``"d10"``,
``"d3"``, ..., ``"passed"``; see :func:`cases.lib.deadlines.notice_stage`)
and sends it once: a :class:`~cases.models.DeadlineNotice` row, unique per
deadline, due date and stage, is claimed first, so repeated or concurrent
runs never notify twice. A notice names the case's references and the
deadline; there is no content to leak.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.conf import cases_settings
from cases.lib.access import visible_notifications
from cases.lib.deadlines import notice_stage
from cases.models import Assignment, Case, Deadline, DeadlineNotice, Notification
from consult.conf import comity_settings
from consult.exceptions import NotFound
from consult.models import User


@dataclass(frozen=True)
class SentNotice:
    """One notice sent by a run: which deadline, which stage, to whom."""

    deadline_id: int
    case_reference: str
    stage: str
    recipients: tuple[str, ...]


def thresholds() -> list[int]:
    """The configured notice thresholds in days, largest first."""
    return sorted({int(n) for n in cases_settings.COMITY_DEADLINE_NOTICE_DAYS if int(n) >= 0}, reverse=True)


def open_deadlines(horizon: dt.date) -> QuerySet[Deadline]:
    """Deadlines not met, due by ``horizon``, of cases still running (no outcome, not closed)."""
    return (
        Deadline.objects.filter(met_on__isnull=True, due__lte=horizon, case__outcome="")
        .exclude(case__status=Case.Status.CLOSED)
        .select_related("case__requesting_authority", "case__requested_authority")
        .order_by("due", "pk")
    )


def recipients(case: Case) -> list[User]:
    """The case's assigned officers and both authorities' supervisors, if active: only people of its parties."""
    assigned = Assignment.objects.filter(case=case).values("user_id")
    return list(
        User.objects.filter(is_active=True, authority_id__in=case.party_ids())
        .filter(Q(pk__in=assigned, role=User.Role.OFFICER) | Q(role=User.Role.SUPERVISOR))
        .order_by("email")
    )


def do_send_deadline_notices(today: dt.date | None = None) -> list[SentNotice]:
    """Send every deadline notice due on ``today`` that has not been sent; safe to repeat.

    Each notice is claimed, recorded in-app and e-mailed in one transaction:
    if the mail server refuses, nothing is recorded and the next run retries.

    Args:
        today: the day to judge by (default: today in the server's time zone).

    Returns:
        The notices this run sent.
    """
    today = today or timezone.localdate()
    limits = thresholds()
    sent: list[SentNotice] = []
    for deadline in open_deadlines(today + dt.timedelta(days=max(limits, default=0))):
        days_left = (deadline.due - today).days
        stage = notice_stage(days_left, limits)
        if stage is None:
            continue
        try:
            with transaction.atomic():
                DeadlineNotice.objects.create(deadline=deadline, due=deadline.due, stage=stage)
                people = recipients(deadline.case)
                kind = Notification.Kind.PASSED if stage == "passed" else Notification.Kind.APPROACHING
                Notification.objects.bulk_create(
                    Notification(
                        user=person, case=deadline.case, deadline=deadline, kind=kind, label=deadline.label,
                        due=deadline.due, days_left=days_left,
                    )
                    for person in people
                )  # fmt: skip
                _mail(deadline, days_left, people)
        except IntegrityError:
            continue  # another run claimed this notice first
        sent.append(SentNotice(deadline.pk, case_reference(deadline.case), stage, tuple(p.email for p in people)))
    return sent


def case_reference(case: Case) -> str:
    """Both sides' references, as officers on either side know the case."""
    if case.requested_reference:
        return f"{case.requesting_reference} / {case.requested_reference}"
    return case.requesting_reference


def notice_subject(case: Case, label: str, due: dt.date, days_left: int) -> str:
    """The one line that says it all: case reference, deadline and when."""
    reference = case_reference(case)
    if days_left < 0:
        return _("%(reference)s: %(label)s passed on %(due)s") % {"reference": reference, "label": label, "due": due}
    if days_left == 0:
        return _("%(reference)s: %(label)s is due today") % {"reference": reference, "label": label}
    return ngettext(
        "%(reference)s: %(label)s is due in %(days)d day (%(due)s)",
        "%(reference)s: %(label)s is due in %(days)d days (%(due)s)",
        days_left,
    ) % {"reference": reference, "label": label, "days": days_left, "due": due}


def _mail(deadline: Deadline, days_left: int, people: list[User]) -> None:
    case = deadline.case
    subject = "[Comity] " + notice_subject(case, deadline.label, deadline.due, days_left)
    link = f"{comity_settings.COMITY_BASE_URL.rstrip('/')}/cases/{case.pk}/deadlines/"
    body = "\n".join(
        [
            _("Case: %(reference)s (%(requesting)s → %(requested)s)")
            % {
                "reference": case_reference(case),
                "requesting": case.requesting_authority.code,
                "requested": case.requested_authority.code,
            },
            _("Deadline: %(label)s") % {"label": deadline.label},
            _("Due: %(due)s") % {"due": deadline.due.isoformat()},
            "",
            _("Open the case's deadlines: %(link)s") % {"link": link},
            _("This notice names the case and the deadline only; the consultation itself stays in Comity."),
        ]
    )
    messages = [EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [p.email]) for p in people]
    if messages:
        get_connection(fail_silently=False).send_messages(messages)


def check_mark_notification_read(user: User, notification_id: object) -> Notification:
    """Mark one of ``user``'s notifications read.

    Raises:
        NotFound: not one of ``user``'s notifications, or of a case they no longer see.
    """
    key = str(notification_id)
    found = (
        visible_notifications(user).filter(pk=int(key)).first()
        if key.isascii() and key.isdigit() and len(key) < 19
        else None
    )
    if found is None:
        raise NotFound
    if found.read_at is None:
        found.read_at = timezone.now()
        found.save(update_fields=["read_at"])
    return found
