"""The workflow register: what the server learns from message headers (DESIGN §2, §6).

Every accepted message leaves one :class:`Item` with its server-visible
metadata (kind, time, sender's side, handling code). Clarifications and
assurances are kept as their own rows, moved only by later items, so that
registers and statistics are plain column queries and never touch an
entry's encrypted ``body.ct`` (or its ``canonical`` text at all).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class HandlingCode(models.TextChoices):
    """Conditions on the use of an item; mirrored by ``consult.lib.envelopes.HANDLING_CODES``."""

    NO_JUDICIAL_DISCLOSURE = "no_judicial_disclosure", _("Not to be disclosed in judicial proceedings without consent")
    NO_ONWARD_TRANSMISSION = "no_onward_transmission", _("No onward transmission")
    INFORMATION_ONLY = "information_only", _("For information only")


class Side(models.TextChoices):
    REQUESTING = "requesting", _("Requesting authority")
    REQUESTED = "requested", _("Requested authority")


class Item(models.Model):
    """One accepted message: its metadata only, copied from the signed header."""

    entry = models.OneToOneField("consult.Entry", on_delete=models.CASCADE, related_name="workflow_item")
    # Indexed only as the first column of (thread, seq) and (case, at) below:
    # an index of their own would serve no other lookup and cost a write per message.
    thread = models.ForeignKey(
        "consult.Thread", on_delete=models.CASCADE, related_name="workflow_items", db_index=False
    )
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="workflow_items", db_index=False)
    seq = models.PositiveBigIntegerField()
    at = models.DateTimeField()
    month = models.DateField()  # first day of ``at``'s month (UTC): volume statistics group by it
    kind = models.CharField(max_length=16)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    sender_authority = models.ForeignKey("consult.Authority", null=True, on_delete=models.SET_NULL, related_name="+")
    side = models.CharField(max_length=16, choices=Side.choices, blank=True)  # blank: not a party (liaison)
    handling = models.CharField(max_length=32, choices=HandlingCode.choices, blank=True)
    handling_inherited = models.BooleanField(default=False)  # taken from the thread's default

    class Meta:
        ordering = ["thread", "seq"]
        constraints = [models.UniqueConstraint(fields=["thread", "seq"], name="workflow_item_seq_once")]
        indexes = [models.Index(fields=["case", "at"], name="workflow_item_case_at")]


class ThreadHandling(models.Model):
    """A thread's default handling code, applied to items that carry none."""

    thread = models.OneToOneField("consult.Thread", primary_key=True, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=32, choices=HandlingCode.choices)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    set_at = models.DateTimeField(auto_now=True)


class Clarification(models.Model):
    """A request for clarification; the other party must answer by ``due``."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="clarification")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="clarifications")
    thread = models.ForeignKey("consult.Thread", on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveBigIntegerField()
    asked_at = models.DateTimeField()
    due = models.DateField()
    asked_by = models.ForeignKey("consult.Authority", on_delete=models.PROTECT, related_name="+")
    answer_by = models.ForeignKey("consult.Authority", on_delete=models.PROTECT, related_name="+")
    answer = models.OneToOneField(
        Item, null=True, blank=True, on_delete=models.SET_NULL, related_name="answered_clarification"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due", "asked_at"]
        indexes = [
            models.Index(fields=["case", "answered_at"], name="clarification_case_answered"),
            models.Index(fields=["due"], condition=Q(answered_at__isnull=True), name="clarification_open_due"),
        ]


class AssuranceType(models.TextChoices):
    DEATH_PENALTY = "death_penalty", _("Death penalty")
    TORTURE = "torture", _("Torture and ill-treatment")
    FAIR_TRIAL = "fair_trial", _("Fair trial")
    PRISON_CONDITIONS = "prison_conditions", _("Prison conditions")
    SPECIALITY = "speciality", _("Speciality")
    RE_EXTRADITION = "re_extradition", _("Re-extradition")
    LIFE_SENTENCE = "life_sentence", _("Life sentence")
    OTHER = "other", _("Other")


class AssuranceStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    OFFERED = "offered", _("Offered")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Assurance(models.Model):
    """One assurance, from its first item to its current status.

    ``requesting_authority`` asks for it (or receives an unsolicited offer),
    accepts or declines it and ticks its checklist; ``requested_authority``
    gives it (docs/protocol.md, "Workflow metadata").
    """

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="assurances")
    thread = models.ForeignKey("consult.Thread", on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveBigIntegerField()  # of the item that opened it
    type = models.CharField(max_length=32, choices=AssuranceType.choices)
    status = models.CharField(max_length=16, choices=AssuranceStatus.choices)
    requesting_authority = models.ForeignKey("consult.Authority", on_delete=models.PROTECT, related_name="+")
    requested_authority = models.ForeignKey("consult.Authority", on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["thread", "seq"], name="assurance_seq_once")]
        indexes = [models.Index(fields=["case", "status"], name="assurance_case_status")]


class AssuranceEvent(models.Model):
    """One step of an assurance's status history, with the item that made it."""

    assurance = models.ForeignKey(Assurance, on_delete=models.CASCADE, related_name="events")
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="assurance_event")
    status = models.CharField(max_length=16, choices=AssuranceStatus.choices)
    at = models.DateTimeField()
    authority = models.ForeignKey("consult.Authority", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["at", "pk"]


class ChecklistPoint(models.TextChoices):
    """What courts ask of a diplomatic assurance (e.g. ECtHR, Othman v. UK, § 189)."""

    SPECIFIC = "specific", _("Specific, not general")
    BINDING = "binding", _("Given by an authority able to bind the state")
    VERIFIABLE = "verifiable", _("Compliance can be verified")
    MONITORING = "monitoring", _("A monitoring arrangement exists")


class AssuranceCheck(models.Model):
    """One checklist point, ticked (or unticked) and dated by the requesting side."""

    assurance = models.ForeignKey(Assurance, on_delete=models.CASCADE, related_name="checks")
    point = models.CharField(max_length=16, choices=ChecklistPoint.choices)
    ticked = models.BooleanField(default=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assurance", "point"], name="assurance_check_once")]


class MonitoringTask(models.Model):
    """A follow-up after surrender of an accepted assurance; statuses are codes, details stay encrypted."""

    class Kind(models.TextChoices):
        VISIT = "visit", _("Visit")
        REPORT = "report", _("Report received")
        CONTACT = "contact", _("Contact with counsel or family")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        SATISFACTORY = "satisfactory", _("Done: no concerns")
        CONCERNS = "concerns", _("Done: concerns raised")
        NOT_CARRIED_OUT = "not_carried_out", _("Not carried out")

    assurance = models.ForeignKey(Assurance, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    due = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    done_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due", "pk"]
