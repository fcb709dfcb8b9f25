"""Filtering the case list, shared by the pages and the API."""

from collections.abc import Mapping
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from cases.models import Case, Deadline


def filter_cases(cases: QuerySet[Case], filters: Mapping[str, Any]) -> QuerySet[Case]:
    """Narrow ``cases`` by status, kind, counterpart, overdue and reference.

    ``cases`` must already be limited to what the user may see.
    """
    if filters.get("status"):
        cases = cases.filter(status=filters["status"])
    if filters.get("kind"):
        cases = cases.filter(kind=filters["kind"])
    if filters.get("counterpart"):
        code = str(filters["counterpart"]).upper()
        cases = cases.filter(Q(requesting_authority__code=code) | Q(requested_authority__code=code))
    if filters.get("overdue"):
        overdue = Deadline.objects.filter(case=OuterRef("pk"), due__lt=timezone.localdate())
        cases = cases.filter(Exists(overdue)).exclude(status=Case.Status.CLOSED)
    if filters.get("q"):
        text = str(filters["q"]).strip()
        cases = cases.filter(
            Q(requesting_reference__icontains=text)
            | Q(requested_reference__icontains=text)
            | Q(interpol_notice__icontains=text)
        )
    return cases.select_related("requesting_authority", "requested_authority")
