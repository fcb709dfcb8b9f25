"""Operators manage cases' metadata (DESIGN §1); there is no content to see."""

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from cases.actions.deadlines import do_recompute_deadlines
from cases.models import Assignment, Case, Deadline, TreatyLimit, TreatyProfile


class AssignmentInline(admin.TabularInline[Assignment, Case]):
    model = Assignment
    fk_name = "case"
    fields = ("user", "assigned_at")
    readonly_fields = ("assigned_at",)
    extra = 0


class DeadlineInline(admin.TabularInline[Deadline, Case]):
    model = Deadline
    fields = ("label", "due", "limit", "start", "extension_days", "met_on")
    readonly_fields = ("limit", "start")
    extra = 0


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin[Case]):
    list_display = (
        "requesting_reference",
        "requesting_authority",
        "requested_authority",
        "kind",
        "status",
        "updated_at",
    )
    list_filter = ("kind", "status", "outcome", "legal_basis")
    search_fields = ("requesting_reference", "requested_reference", "interpol_notice")
    inlines = [AssignmentInline, DeadlineInline]


class TreatyLimitInline(admin.TabularInline[TreatyLimit, TreatyProfile]):
    model = TreatyLimit
    fields = ("order", "code", "label", "start_event", "days", "day_type", "extension_days", "reference")
    extra = 1


@admin.register(TreatyProfile)
class TreatyProfileAdmin(admin.ModelAdmin[TreatyProfile]):
    """Treaty profiles are data: operators add and correct them here (docs/decisions.md, "Deadlines")."""

    list_display = ("name", "code", "scope", "state_a", "state_b", "active")
    list_filter = ("scope", "active")
    search_fields = ("name", "code", "instrument")
    inlines = [TreatyLimitInline]
    actions = ["recompute"]

    @admin.action(description="Recompute the deadlines of the cases using these profiles")
    def recompute(self, request: HttpRequest, queryset: QuerySet[TreatyProfile]) -> None:
        cases = Case.objects.filter(treaty_profile__in=queryset)
        with transaction.atomic():
            for case in cases:
                do_recompute_deadlines(case)
        self.message_user(request, f"Deadlines recomputed for {cases.count()} case(s).", messages.SUCCESS)
