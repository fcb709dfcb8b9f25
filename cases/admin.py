"""Operators manage cases' metadata (DESIGN §1); there is no content to see."""

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from cases.actions.deadlines import do_recompute_deadlines
from cases.models import Assignment, Case, Deadline, TreatyLimit, TreatyProfile
from consult.models import User


class AssignmentFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """Only officers of the case's two parties are assigned (DESIGN §1 holds in the admin too)."""

    def clean(self) -> None:
        super().clean()
        parties = {self.instance.requesting_authority_id, self.instance.requested_authority_id}
        for form in self.forms:
            user = form.cleaned_data.get("user")
            if user is None or form.cleaned_data.get("DELETE"):
                continue
            if user.role != User.Role.OFFICER or user.authority_id not in parties:
                form.add_error("user", "Only officers of the case's two authorities are assigned to it.")


class AssignmentInline(admin.TabularInline[Assignment, Case]):
    model = Assignment
    formset = AssignmentFormSet
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

    def get_readonly_fields(self, request: HttpRequest, obj: Case | None = None) -> tuple[str, ...]:
        # The parties never change once the case exists (docs/decisions.md): its threads' records
        # keys, memberships and register items all follow from them.
        return ("requesting_authority", "requested_authority") if obj is not None else ()


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
