"""Operators manage cases' metadata (DESIGN §1); there is no content to see."""

from django.contrib import admin

from cases.models import Assignment, Case, Deadline


class AssignmentInline(admin.TabularInline[Assignment, Case]):
    model = Assignment
    fk_name = "case"
    fields = ("user", "assigned_at")
    readonly_fields = ("assigned_at",)
    extra = 0


class DeadlineInline(admin.TabularInline[Deadline, Case]):
    model = Deadline
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
    list_filter = ("kind", "status", "legal_basis")
    search_fields = ("requesting_reference", "requested_reference", "interpol_notice")
    inlines = [AssignmentInline, DeadlineInline]
