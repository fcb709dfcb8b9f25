"""Treaty profiles, the dates a case's limits run from, and deadline notices (DESIGN §6).

A *treaty profile* is data: the named time limits of one bilateral treaty
(a pair of states) or one convention, each counted in calendar or working
days from a start event, with an optional extension. A case with a profile
and recorded start events gets its running deadlines computed into
:class:`~cases.models.cases.Deadline` rows (``cases.actions.deadlines``).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class DayType(models.TextChoices):
    CALENDAR = "calendar", _("calendar days")
    WORKING = "working", _("working days")


class StartEvent(models.TextChoices):
    """Case events a limit may run from; each is recorded once per case with its date."""

    PROVISIONAL_ARREST = "provisional_arrest", _("Provisional arrest")
    ARREST = "arrest", _("Arrest")
    REQUEST_RECEIVED = "request_received", _("Request received")
    CONSENT = "consent", _("Consent to surrender")
    DECISION = "decision", _("Decision")
    FINAL_DECISION = "final_decision", _("Final decision")
    SURRENDER_DATE = "surrender_date", _("Agreed surrender date")
    SURRENDER = "surrender", _("Surrender")


class TreatyProfile(models.Model):
    """The time limits of one treaty between two states, or of one convention."""

    class Scope(models.TextChoices):
        BILATERAL = "bilateral", _("Bilateral treaty (pair of states)")
        CONVENTION = "convention", _("Convention or other multilateral instrument")
        INTERNAL = "internal", _("Internal service standard")

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    scope = models.CharField(max_length=16, choices=Scope.choices)
    state_a = models.CharField(max_length=2, blank=True, help_text=_("ISO 3166-1 alpha-2, bilateral treaties only"))
    state_b = models.CharField(max_length=2, blank=True, help_text=_("ISO 3166-1 alpha-2, bilateral treaties only"))
    instrument = models.CharField(max_length=300, help_text=_("Citation of the treaty or convention"))
    notes = models.TextField(blank=True)
    # Dates (YYYY-MM-DD) that are not working days, besides Saturdays and Sundays.
    holidays = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from cases.lib.deadlines import parse_holidays

        try:
            parse_holidays(self.holidays)
        except ValueError:
            raise ValidationError({"holidays": _("A list of dates, YYYY-MM-DD.")}) from None
        if (self.scope == self.Scope.BILATERAL) != bool(self.state_a and self.state_b):
            raise ValidationError(_("A bilateral treaty names its two states; other profiles name none."))


class TreatyLimit(models.Model):
    """A named limit: ``days`` (calendar or working) after ``start_event``.

    ``extension_days`` is the most a limit may be extended by (0: never),
    counted in the same kind of days from the same start.
    """

    profile = models.ForeignKey(TreatyProfile, on_delete=models.CASCADE, related_name="limits")
    code = models.SlugField(max_length=64)
    label = models.CharField(max_length=120)
    start_event = models.CharField(max_length=32, choices=StartEvent.choices)
    days = models.PositiveIntegerField()
    day_type = models.CharField(max_length=16, choices=DayType.choices, default=DayType.CALENDAR)
    extension_days = models.PositiveIntegerField(default=0)
    reference = models.CharField(max_length=120, blank=True, help_text=_("Article, e.g. Art. 16(4)"))
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["profile", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["profile", "code"], name="treaty_limit_code_once")]

    def __str__(self) -> str:
        return f"{self.profile.code}: {self.label}"


class CaseEvent(models.Model):
    """The date of one start event of a case (e.g. the provisional arrest)."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="events")
    event = models.CharField(max_length=32, choices=StartEvent.choices)
    on = models.DateField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["on"]
        constraints = [models.UniqueConstraint(fields=["case", "event"], name="case_event_once")]


class DeadlineNotice(models.Model):
    """That the notice of one stage of one due date was sent: what makes ``run_deadlines`` idempotent.

    ``stage`` is ``"d<N>"`` (N days or fewer left) or ``"passed"``. A new due
    date (an extension, a corrected start) starts its stages afresh.
    """

    deadline = models.ForeignKey("cases.Deadline", on_delete=models.CASCADE, related_name="notices")
    due = models.DateField()
    stage = models.CharField(max_length=16)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deadline", "due", "stage"], name="deadline_notice_once")]


class Notification(models.Model):
    """An in-app notice to one user: names a case and a deadline, never content."""

    class Kind(models.TextChoices):
        APPROACHING = "deadline_approaching", _("Deadline approaching")
        PASSED = "deadline_passed", _("Deadline passed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    deadline = models.ForeignKey("cases.Deadline", null=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    label = models.CharField(max_length=120)
    due = models.DateField()
    days_left = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread")]
