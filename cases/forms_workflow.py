"""Forms for the workflow pages (registers, deadlines, statistics): parsing only; rules live in cases.actions."""

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import (
    AssuranceStatus,
    AssuranceType,
    ChecklistPoint,
    HandlingCode,
    MonitoringTask,
    StartEvent,
    TreatyProfile,
)

DATE = forms.DateInput(attrs={"type": "date"})


class DeadlineProfileForm(forms.Form):
    """The case's treaty profile and the dates of its start events (one optional field per event)."""

    profile = forms.ChoiceField(label=_("Treaty profile"), required=False)

    def __init__(self, *args: Any, countries: tuple[str, str] = ("", ""), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        profiles = sorted(
            TreatyProfile.objects.filter(active=True),
            key=lambda p: ({p.state_a, p.state_b} != set(countries), p.name),  # the parties' own treaty first
        )
        field = self.fields["profile"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("None"))] + [(p.code, p.name) for p in profiles]
        for event, label in StartEvent.choices:
            self.fields[f"event_{event}"] = forms.DateField(label=label, required=False, widget=DATE)

    def events(self) -> dict[str, dt.date | None]:
        return {event: self.cleaned_data.get(f"event_{event}") for event in StartEvent.values}


class ExtensionForm(forms.Form):
    days = forms.IntegerField(label=_("Extension granted (days in all)"), min_value=0, max_value=3650)


class MetForm(forms.Form):
    met_on = forms.DateField(label=_("Met on"), required=False, widget=DATE)


class ChecklistForm(forms.Form):
    point = forms.ChoiceField(choices=ChecklistPoint.choices)
    ticked = forms.TypedChoiceField(choices=[("1", _("Tick")), ("0", _("Untick"))], coerce=lambda v: v == "1")


class TaskForm(forms.Form):
    kind = forms.ChoiceField(label=_("Task"), choices=MonitoringTask.Kind.choices)
    due = forms.DateField(label=_("Due"), widget=DATE)


class TaskUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=MonitoringTask.Status.choices)
    done_on = forms.DateField(label=_("Done on"), required=False, widget=DATE)


class HandlingForm(forms.Form):
    code = forms.ChoiceField(label=_("Default handling code"), required=False,
                             choices=[("", _("None"))] + HandlingCode.choices)  # fmt: skip


class AssuranceFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any"))] + AssuranceStatus.choices)
    type = forms.ChoiceField(label=_("Type"), required=False, choices=[("", _("Any"))] + AssuranceType.choices)
    counterpart = forms.CharField(label=_("Counterpart (authority or state)"), required=False, max_length=32)


class ClarificationFilterForm(forms.Form):
    STATES = [("all", _("All")), ("open", _("Open")), ("overdue", _("Overdue")), ("answered", _("Answered"))]
    state = forms.ChoiceField(label=_("Show"), required=False, choices=STATES)
    counterpart = forms.CharField(label=_("Counterpart (authority or state)"), required=False, max_length=32)


def default_period() -> tuple[dt.date, dt.date]:
    """The current year to date."""
    today = timezone.localdate()
    return today.replace(month=1, day=1), today


class StatisticsFilterForm(forms.Form):
    """Period (whole days) and counterpart; the default period is the current year to date."""

    start = forms.DateField(label=_("From"), required=False, widget=DATE)
    end = forms.DateField(label=_("To"), required=False, widget=DATE)
    counterpart = forms.ChoiceField(label=_("Counterpart"), required=False)

    def __init__(self, *args: Any, counterparts: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["counterpart"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", str(_("All"))), *(counterparts or [])]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = default_period()
        data["start"] = data.get("start") or start
        data["end"] = data.get("end") or end
        if data["start"] > data["end"]:
            raise forms.ValidationError(_("The period must start before it ends."))
        if (data["end"] - data["start"]).days > 366 * 10:
            raise forms.ValidationError(_("Choose a period of ten years or less."))
        return data
