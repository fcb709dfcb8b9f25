"""Forms for the case pages: parsing only; rules live in cases.actions."""

from typing import Any

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from cases.models import Case
from consult.models import Authority


def _authority_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(a.code, str(a)) for a in Authority.objects.exclude(kind=Authority.Kind.LIAISON)]


class CaseForm(forms.Form):
    requesting_authority = forms.ChoiceField(label=_("Requesting authority"))
    requested_authority = forms.ChoiceField(label=_("Requested authority"))
    requesting_reference = forms.CharField(label=_("Requesting side's reference"), max_length=100)
    requested_reference = forms.CharField(label=_("Requested side's reference"), max_length=100, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=Case.Kind.choices)
    legal_basis = forms.ChoiceField(label=_("Legal basis"), choices=Case.LegalBasis.choices)
    legal_basis_name = forms.CharField(label=_("Treaty or convention"), max_length=200, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=Case.Status.choices)
    interpol_notice = forms.CharField(label=_("INTERPOL notice"), max_length=64, required=False)
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", _("None yet"))] + Case.Outcome.choices
    )
    outcome_on = forms.DateField(
        label=_("Outcome date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = _authority_choices()
        for name in ("requesting_authority", "requested_authority"):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices
            # The parties of an existing case never change.
            field.disabled = editing
            field.required = not editing


class DeadlineForm(forms.Form):
    label = forms.CharField(label=_("Deadline"), max_length=120, required=False)
    due = forms.DateField(label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("label")) != bool(data.get("due")):
            raise forms.ValidationError(_("Give both a label and a date, or neither."))
        return data


DeadlineFormSet = formset_factory(DeadlineForm, extra=2, max_num=20, validate_max=True)


class CaseFilterForm(forms.Form):
    q = forms.CharField(label=_("Reference"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any"))] + Case.Status.choices)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("Any"))] + Case.Kind.choices)
    counterpart = forms.CharField(label=_("Counterpart authority"), required=False, max_length=32)
    overdue = forms.BooleanField(label=_("Overdue deadline"), required=False)


class AssignForm(forms.Form):
    officers = forms.MultipleChoiceField(
        label=_("Officers of your authority"), required=False, widget=forms.CheckboxSelectMultiple
    )
