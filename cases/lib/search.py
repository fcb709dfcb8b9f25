"""Filtering the case list, shared by the pages and the API."""

from collections.abc import Mapping
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from cases.models import Case, Deadline


def party_matches(field: str, counterpart: object) -> Q:
    """``field`` (an authority of the case) is ``counterpart``: an authority code, or a state's ISO code."""
    value = str(counterpart).strip().upper()
    return Q(**{f"{field}__code": value}) if "-" in value else Q(**{f"{field}__country": value})


def counterpart_of(authority_id: int, counterpart: object) -> Q:
    """Cases of ``authority_id`` whose *other* party is ``counterpart`` (code or state)."""
    return (Q(requesting_authority_id=authority_id) & party_matches("requested_authority", counterpart)) | (
        Q(requested_authority_id=authority_id) & party_matches("requesting_authority", counterpart)
    )


def filter_cases(cases: QuerySet[Case], filters: Mapping[str, Any]) -> QuerySet[Case]:
    """Narrow ``cases`` by status, kind, counterpart, overdue and reference.

    ``cases`` must already be limited to what the user may see.
    """
    if filters.get("status"):
        cases = cases.filter(status=filters["status"])
    if filters.get("kind"):
        cases = cases.filter(kind=filters["kind"])
    if filters.get("counterpart"):
        cases = cases.filter(
            party_matches("requesting_authority", filters["counterpart"])
            | party_matches("requested_authority", filters["counterpart"])
        )
    if filters.get("overdue"):
        overdue = Deadline.objects.filter(case=OuterRef("pk"), due__lt=timezone.localdate(), met_on__isnull=True)
        cases = cases.filter(Exists(overdue)).exclude(status=Case.Status.CLOSED)
    if filters.get("q"):
        text = str(filters["q"]).strip()
        cases = cases.filter(
            Q(requesting_reference__icontains=text)
            | Q(requested_reference__icontains=text)
            | Q(interpol_notice__icontains=text)
        )
    return cases.select_related("requesting_authority", "requested_authority", "treaty_profile")
