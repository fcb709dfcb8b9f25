"""Register pages: one case's assurances and clarifications, and the authority-wide registers.

Thin transports: parse with a form, call one action, render. Every case
page goes through ``access_case`` (outsiders get the same 404 as for a
missing case); authority registers list only cases the user sees, which
for liaison officers is none (and they get a 404).
"""

import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.actions.assurances import (
    check_add_monitoring_task,
    check_set_thread_handling,
    check_tick_assurance_point,
    check_update_monitoring_task,
)
from cases.forms_workflow import (
    AssuranceFilterForm,
    ChecklistForm,
    ClarificationFilterForm,
    HandlingForm,
    TaskForm,
    TaskUpdateForm,
)
from cases.lib.access import access_assurance, access_case, access_monitoring_task, can_edit_case, visible_cases
from cases.lib.export import csv_response
from cases.lib.registers import assurances_of, clarifications_of
from cases.models import Assurance, Case, HandlingCode, ThreadHandling
from consult.exceptions import ComityError, NotFound
from consult.models import Thread, User

ASSURANCE_COLUMNS = [
    ("case_reference", "case"), ("thread_subject", "thread"), ("seq", "seq"), ("type", "type"), ("status", "status"),
    ("requesting_authority", "requesting_side"), ("requested_authority", "requested_side"), ("asked_by", "asked_by"),
    ("offered_by", "offered_by"), ("opened_at", "opened_at"), ("updated_at", "updated_at"),
]  # fmt: skip
CLARIFICATION_COLUMNS = [
    ("case_reference", "case"), ("seq", "seq"), ("asked_by", "asked_by"), ("answer_by", "answer_by"),
    ("asked_at", "asked_at"), ("due", "due"), ("open", "open"), ("overdue", "overdue"), ("days_left", "days_left"),
    ("answered_at", "answered_at"), ("answer_seq", "answer_seq"), ("response_days", "response_days"),
]  # fmt: skip


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _registers_context(user: User, case: Case) -> dict[str, Any]:
    one = Case.objects.filter(pk=case.pk)
    threads = list(Thread.objects.filter(case=case).order_by("created_at"))
    defaults = dict(ThreadHandling.objects.filter(thread__in=threads).values_list("thread_id", "code"))
    labels = dict(HandlingCode.choices)
    return {
        "case": case,
        "assurances": assurances_of(one),
        "clarifications": clarifications_of(one),
        "threads": [(t, labels.get(defaults.get(t.pk, ""), ""), defaults.get(t.pk, "")) for t in threads],
        "can_edit": can_edit_case(user, case),
        "user_authority": user.authority.code if user.authority else "",
        "checklist_form": ChecklistForm(),
        "task_form": TaskForm(),
        "task_update_form": TaskUpdateForm(),
        "handling_form": HandlingForm(),
    }


def case_registers(request: HttpRequest, case_id: str) -> HttpResponse:
    user = _user(request)
    case = access_case(user, case_id)
    return render(request, "comity/cases/registers.html", _registers_context(user, case))


def _done(request: HttpRequest, case: Case, ok: str, action: Any) -> HttpResponse:
    """Run ``action``; on success redirect back with a message, on refusal re-render with the error (400/403/409)."""
    try:
        action()
    except NotFound:
        raise Http404 from None
    except ComityError as exc:
        user = _user(request)
        details = [exc.detail] + [m for ms in exc.fields.values() for m in ms]
        context = {**_registers_context(user, case), "errors": details}
        return render(request, "comity/cases/registers.html", context, status=exc.http_status)
    messages.success(request, ok)
    return redirect("case-registers", case_id=case.pk)


def _invalid(request: HttpRequest, case: Case, form: Any) -> HttpResponse:
    errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
    context = {**_registers_context(_user(request), case), "errors": errors}
    return render(request, "comity/cases/registers.html", context, status=400)


def _case_assurance(request: HttpRequest, case_id: str, assurance_id: str) -> tuple[User, Case, Assurance]:
    """The user, the case and one of its assurances, or 404 as for anything missing."""
    user = _user(request)
    case = access_case(user, case_id)
    assurance = access_assurance(user, assurance_id)
    if assurance.case_id != case.pk:
        raise Http404
    return user, case, assurance


@require_POST
def assurance_checklist(request: HttpRequest, case_id: str, assurance_id: str) -> HttpResponse:
    user, case, assurance = _case_assurance(request, case_id, assurance_id)
    form = ChecklistForm(request.POST)
    if not form.is_valid():
        return _invalid(request, case, form)
    data = form.cleaned_data
    return _done(request, case, _("Checklist updated."),
                 lambda: check_tick_assurance_point(user, assurance, data["point"], data["ticked"]))  # fmt: skip


@require_POST
def assurance_task_add(request: HttpRequest, case_id: str, assurance_id: str) -> HttpResponse:
    user, case, assurance = _case_assurance(request, case_id, assurance_id)
    form = TaskForm(request.POST)
    if not form.is_valid():
        return _invalid(request, case, form)
    data = form.cleaned_data
    return _done(request, case, _("Monitoring task added."),
                 lambda: check_add_monitoring_task(user, assurance, data["kind"], data["due"]))  # fmt: skip


@require_POST
def assurance_task_update(request: HttpRequest, case_id: str, task_id: str) -> HttpResponse:
    user = _user(request)
    case = access_case(user, case_id)
    task = access_monitoring_task(user, task_id)
    if task.assurance.case_id != case.pk:
        raise Http404
    form = TaskUpdateForm(request.POST)
    if not form.is_valid():
        return _invalid(request, case, form)
    data = form.cleaned_data
    return _done(request, case, _("Monitoring task updated."),
                 lambda: check_update_monitoring_task(user, task, data["status"], data["done_on"]))  # fmt: skip


@require_POST
def thread_handling(request: HttpRequest, case_id: str, thread_id: str) -> HttpResponse:
    user = _user(request)
    case = access_case(user, case_id)
    thread = Thread.objects.filter(pk=_thread_key(thread_id), case=case).select_related("case").first()
    if thread is None:
        raise Http404
    form = HandlingForm(request.POST)
    if not form.is_valid():
        return _invalid(request, case, form)
    code = form.cleaned_data["code"] or None
    return _done(request, case, _("Handling code saved."), lambda: check_set_thread_handling(user, thread, code))


def _thread_key(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Http404 from None


def _register_cases(user: User) -> Any:
    if user.role not in (User.Role.OFFICER, User.Role.SUPERVISOR) or user.authority_id is None:
        raise Http404  # liaison officers see no register
    return visible_cases(user)


def assurance_register(request: HttpRequest, csv: bool = False) -> HttpResponse:
    form = AssuranceFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = assurances_of(_register_cases(_user(request)), filters)
    if csv:
        return csv_response("assurances", ASSURANCE_COLUMNS, (r.as_dict() for r in rows))
    return render(request, "comity/cases/assurance_register.html", {"form": form, "assurances": rows})


def clarification_register(request: HttpRequest, csv: bool = False) -> HttpResponse:
    form = ClarificationFilterForm(request.GET or {"state": "open"})
    filters = form.cleaned_data if form.is_valid() else {"state": "open"}
    rows = clarifications_of(_register_cases(_user(request)), filters)
    if csv:
        return csv_response("clarifications", CLARIFICATION_COLUMNS, (r.as_dict() for r in rows))
    return render(request, "comity/cases/clarification_register.html", {"form": form, "clarifications": rows})
