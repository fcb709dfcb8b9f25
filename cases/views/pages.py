"""Case pages: list, detail, create, edit and assign."""

from typing import Any

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cases.actions.cases import EDITABLE_FIELDS, check_create_case, check_set_assignments, check_update_case
from cases.forms import AssignForm, CaseFilterForm, CaseForm, DeadlineFormSet
from cases.lib.access import access_case, can_edit_case, visible_cases, visible_notifications
from cases.lib.search import filter_cases
from cases.models import Deadline
from consult.exceptions import BadInput
from consult.models import User


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def case_list(request: HttpRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    running = Prefetch("deadlines", Deadline.objects.filter(met_on__isnull=True))
    cases = filter_cases(visible_cases(_user(request)), filters).prefetch_related(running)
    unread = visible_notifications(_user(request)).filter(read_at__isnull=True).count()
    return render(request, "comity/cases/list.html", {"form": form, "cases": cases[:200], "unread": unread})


def case_detail(request: HttpRequest, case_id: str) -> HttpResponse:
    user = _user(request)
    case = access_case(user, case_id)
    assignees = case.assignees.select_related("authority").order_by("authority__code", "display_name")
    context = {"case": case, "assignees": assignees, "can_edit": can_edit_case(user, case)}
    return render(request, "comity/cases/detail.html", context)


def _case_data(form: CaseForm, deadlines: Any) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data["deadlines"] = [d for d in (f.cleaned_data for f in deadlines.forms) if d.get("label")]
    return data


def _bind_errors(form: CaseForm, exc: BadInput) -> None:
    for field, errors in exc.fields.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@require_http_methods(["GET", "POST"])
def case_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.role not in (User.Role.OFFICER, User.Role.SUPERVISOR):
        raise Http404
    initial = {"requesting_authority": user.authority.code if user.authority else ""}
    form = CaseForm(request.POST or None, initial=initial)
    deadlines = DeadlineFormSet(request.POST or None, prefix="deadline")
    if request.method == "POST" and form.is_valid() and deadlines.is_valid():
        try:
            case = check_create_case(user, _case_data(form, deadlines))
        except BadInput as exc:
            _bind_errors(form, exc)
        else:
            messages.success(request, _("Case opened."))
            return redirect("case-detail", case_id=case.pk)
    context = {"form": form, "deadlines": deadlines, "creating": True}
    return render(request, "comity/cases/form.html", context, status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
def case_edit(request: HttpRequest, case_id: str) -> HttpResponse:
    user = _user(request)
    case = access_case(user, case_id)
    initial: dict[str, Any] = {f: getattr(case, f) for f in EDITABLE_FIELDS}
    initial.update(
        requesting_authority=case.requesting_authority.code, requested_authority=case.requested_authority.code
    )
    form = CaseForm(request.POST or None, initial=initial, editing=True)
    deadlines = DeadlineFormSet(
        request.POST or None,
        prefix="deadline",
        initial=[{"label": d.label, "due": d.due} for d in case.deadlines.filter(limit__isnull=True)],
    )
    if request.method == "POST" and form.is_valid() and deadlines.is_valid():
        data = _case_data(form, deadlines)
        data.pop("requesting_authority", None)
        data.pop("requested_authority", None)
        try:
            check_update_case(user, case, data)
        except BadInput as exc:
            _bind_errors(form, exc)
        else:
            messages.success(request, _("Case updated."))
            return redirect("case-detail", case_id=case.pk)
    context = {"form": form, "deadlines": deadlines, "case": case, "creating": False}
    return render(request, "comity/cases/form.html", context, status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
def case_assign(request: HttpRequest, case_id: str) -> HttpResponse:
    user = _user(request)
    case = access_case(user, case_id)
    assert user.authority_id is not None  # access_case admits only authority staff
    officers = User.objects.filter(authority_id=user.authority_id, role=User.Role.OFFICER, is_active=True)
    current = [
        str(pk)
        for pk in case.assignments.filter(user__authority_id=user.authority_id).values_list("user_id", flat=True)
    ]
    form = AssignForm(request.POST or None, initial={"officers": current})
    form.fields["officers"].choices = [(str(o.pk), f"{o.display_name} <{o.email}>") for o in officers]  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            check_set_assignments(user, case, form.cleaned_data["officers"])
        except BadInput as exc:
            form.add_error(None, "; ".join(m for messages_ in exc.fields.values() for m in messages_))
        else:
            messages.success(request, _("Assignments saved."))
            return redirect("case-detail", case_id=case.pk)
    status = 400 if form.errors else 200
    return render(request, "comity/cases/assign.html", {"form": form, "case": case}, status=status)
