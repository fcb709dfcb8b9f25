"""Template filters for the workflow pages: codes shown with their translated labels."""

from django import template
from django.db.models import TextChoices

from cases.models import (
    AssuranceStatus,
    AssuranceType,
    Case,
    ChecklistPoint,
    DayType,
    HandlingCode,
    MonitoringTask,
    StartEvent,
)

register = template.Library()

CHOICES: dict[str, type[TextChoices]] = {
    "assurance_type": AssuranceType,
    "assurance_status": AssuranceStatus,
    "handling": HandlingCode,
    "task_kind": MonitoringTask.Kind,
    "task_status": MonitoringTask.Status,
    "checklist": ChecklistPoint,
    "day_type": DayType,
    "event": StartEvent,
    "outcome": Case.Outcome,
}


@register.filter
def choice(value: object, kind: str) -> str:
    """``{{ code|choice:"assurance_type" }}``: the label of a stored code (the code itself if unknown)."""
    labels = dict(CHOICES[kind].choices)
    return str(labels.get(str(value), value or ""))


@register.filter
def absolute(value: int) -> int:
    return abs(value)
