"""Cases between a requesting and a requested authority (DESIGN §6)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Case(models.Model):
    """An extradition or mutual-legal-assistance case: metadata only.

    Nothing here is content: references, kinds, dates and statuses are what
    the server may see (DESIGN §2). Names of persons sought never go here.
    """

    class Kind(models.TextChoices):
        EXTRADITION = "extradition", _("Extradition")
        MLA = "mla", _("Mutual legal assistance")
        TRANSFER = "transfer_of_proceedings", _("Transfer of proceedings")
        OTHER = "other", _("Other")

    class LegalBasis(models.TextChoices):
        BILATERAL = "bilateral_treaty", _("Bilateral treaty")
        MULTILATERAL = "multilateral_convention", _("Multilateral convention")
        RECIPROCITY = "reciprocity", _("Reciprocity")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        AWAITING = "awaiting_information", _("Awaiting information")
        DECIDED = "decided", _("Decided")
        CLOSED = "closed", _("Closed")

    class Outcome(models.TextChoices):
        GRANTED = "granted", _("Granted")
        REFUSED = "refused", _("Refused")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requesting_authority = models.ForeignKey(
        "consult.Authority", on_delete=models.PROTECT, related_name="cases_requested"
    )
    requested_authority = models.ForeignKey(
        "consult.Authority", on_delete=models.PROTECT, related_name="cases_received"
    )
    requesting_reference = models.CharField(max_length=100)
    requested_reference = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    legal_basis = models.CharField(max_length=32, choices=LegalBasis.choices)
    legal_basis_name = models.CharField(max_length=200, blank=True, help_text=_("Name of the treaty or convention"))
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.OPEN)
    interpol_notice = models.CharField(max_length=64, blank=True)
    # How the request ended and when (statistics: granted, refused, withdrawn).
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    outcome_on = models.DateField(null=True, blank=True)
    # The time limits that apply (cases.models.deadlines); their start dates are CaseEvents.
    treaty_profile = models.ForeignKey(
        "cases.TreatyProfile", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Assignment", through_fields=("case", "user"), related_name="assigned_cases"
    )

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(requesting_authority=F("requested_authority")),
                name="case_between_two_authorities",
            )
        ]

    def __str__(self) -> str:
        return self.requesting_reference

    def party_ids(self) -> tuple[int, int]:
        return (self.requesting_authority_id, self.requested_authority_id)


class Assignment(models.Model):
    """An officer of one of the parties working on the case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="assignment_once")]


class Deadline(models.Model):
    """A named date the case must meet (e.g. end of provisional arrest).

    Entered by hand (``limit`` is null) or computed from the case's treaty
    profile: ``start`` plus the limit's days and any ``extension_days``
    granted (``cases.actions.deadlines``). ``met_on`` ends its countdown.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="deadlines")
    label = models.CharField(max_length=120)
    due = models.DateField()
    limit = models.ForeignKey("cases.TreatyLimit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    start = models.DateField(null=True, blank=True)
    extension_days = models.PositiveIntegerField(default=0)
    met_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["due", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "limit"], condition=Q(limit__isnull=False), name="deadline_limit_once"
            )
        ]
        indexes = [models.Index(fields=["due"], condition=Q(met_on__isnull=True), name="deadline_open_due")]
