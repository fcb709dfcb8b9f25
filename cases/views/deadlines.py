"""Deadline pages: a case's treaty profile, start events and running deadlines; my notifications."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cases.actions.deadlines import check_extend_deadline, check_mark_deadline_met, check_set_deadline_profile
from cases.actions.notifications import check_mark_notification_read, thresholds
from cases.forms_workflow import DeadlineProfileForm, ExtensionForm, MetForm
from cases.lib.access import access_case, access_deadline, can_edit_case, visible_notifications
from cases.lib.deadlines import Countdown
from cases.models import Case, CaseEvent, Deadline
from consult.exceptions import ComityError, NotFound
from consult.models import User


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def running_deadlines(case: Case) -> list[tuple[Deadline, Countdown]]:
    """The case's deadlines with where each stands today, soonest first."""
    today = timezone.localdate()
    soon = min(thresholds(), default=3)
    found = Deadline.objects.filter(case=case).select_related("limit").order_by("due", "pk")
    return [(d, Countdown.of(d.due, today, met=d.met_on is not None, soon_days=soon)) for d in found]


def _context(user: User, case: Case, form: DeadlineProfileForm | None = None, **extra: Any) -> dict[str, Any]:
    countries = (case.requesting_authority.country, case.requested_authority.country)
    if form is None:
        initial: dict[str, Any] = {"profile": case.treaty_profile.code if case.treaty_profile else ""}
        initial.update({f"event_{e.event}": e.on for e in CaseEvent.objects.filter(case=case)})
        form = DeadlineProfileForm(initial=initial, countries=countries)
    return {
        "case": case, "form": form, "deadlines": running_deadlines(case), "can_edit": can_edit_case(user, case),
        "profile": case.treaty_profile, "limits": case.treaty_profile.limits.all() if case.treaty_profile else [],
        "extension_form": ExtensionForm(), "met_form": MetForm(), **extra,
    }  # fmt: skip


@require_http_methods(["GET", "POST"])
def case_deadlines(request: HttpRequest, case_id: str) -> HttpResponse:
    user = _user(request)
    case = access_case(user, case_id)
    if request.method == "GET":
        return render(request, "comity/cases/deadlines.html", _context(user, case))
    countries = (case.requesting_authority.country, case.requested_authority.country)
    form = DeadlineProfileForm(request.POST, countries=countries)
    if form.is_valid():
        try:
            check_set_deadline_profile(user, case, form.cleaned_data["profile"] or None, form.events())
        except ComityError as exc:
            errors = [exc.detail] + [m for ms in exc.fields.values() for m in ms]
            return render(request, "comity/cases/deadlines.html", _context(user, case, form, errors=errors), status=400)
        messages.success(request, _("Deadlines recomputed."))
        return redirect("case-deadlines", case_id=case.pk)
    return render(request, "comity/cases/deadlines.html", _context(user, case, form), status=400)


def _deadline_of(request: HttpRequest, case_id: str, deadline_id: str) -> tuple[User, Case, Deadline]:
    user = _user(request)
    case = access_case(user, case_id)
    deadline = access_deadline(user, deadline_id)
    if deadline.case_id != case.pk:
        raise Http404
    return user, case, deadline


def _after(request: HttpRequest, user: User, case: Case, ok: str, action: Any) -> HttpResponse:
    try:
        action()
    except NotFound:
        raise Http404 from None
    except ComityError as exc:
        errors = [exc.detail] + [m for ms in exc.fields.values() for m in ms]
        return render(
            request, "comity/cases/deadlines.html", _context(user, case, errors=errors), status=exc.http_status
        )
    messages.success(request, ok)
    return redirect("case-deadlines", case_id=case.pk)


@require_POST
def deadline_extend(request: HttpRequest, case_id: str, deadline_id: str) -> HttpResponse:
    user, case, deadline = _deadline_of(request, case_id, deadline_id)
    form = ExtensionForm(request.POST)
    if not form.is_valid():
        errors = [str(e) for es in form.errors.values() for e in es]
        return render(request, "comity/cases/deadlines.html", _context(user, case, errors=errors), status=400)
    days = form.cleaned_data["days"]
    return _after(request, user, case, _("Extension recorded."), lambda: check_extend_deadline(user, deadline, days))


@require_POST
def deadline_met(request: HttpRequest, case_id: str, deadline_id: str) -> HttpResponse:
    user, case, deadline = _deadline_of(request, case_id, deadline_id)
    form = MetForm(request.POST)
    if not form.is_valid():
        errors = [str(e) for es in form.errors.values() for e in es]
        return render(request, "comity/cases/deadlines.html", _context(user, case, errors=errors), status=400)
    on = form.cleaned_data["met_on"]
    ok = _("Deadline marked as met.") if on else _("Deadline reopened.")
    return _after(request, user, case, ok, lambda: check_mark_deadline_met(user, deadline, on))


@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    """My deadline notices, newest first; POST ``id`` marks one read."""
    user = _user(request)
    if request.method == "POST":
        try:
            check_mark_notification_read(user, request.POST.get("id", ""))
        except ComityError:
            raise Http404 from None
        return redirect("notifications")
    found = visible_notifications(user).select_related("case")[:200]
    return render(request, "comity/cases/notifications.html", {"notifications": found})
