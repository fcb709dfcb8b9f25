"""Retention of content and legal hold (DESIGN §5: retracting or purging never removes an entry)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class LegalHold(models.Model):
    """One party's hold on a case: nothing of it is purged while any party's hold stands.

    Each authority sets and lifts its own (docs/decisions.md): the other party
    cannot end a hold that proceedings of this one need.
    """

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="legal_holds")
    authority = models.ForeignKey("consult.Authority", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=200)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now_add=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "authority"], condition=Q(lifted_at__isnull=True), name="one_active_hold_per_party"
            )
        ]
