"""A hold's authority is required, and each party has at most one standing hold on a case."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    # Apart from 0008: PostgreSQL refuses to alter a table with the backfill's
    # deferred foreign-key checks still pending in the same transaction.
    dependencies = [
        ("consult", "0008_legal_hold_per_party"),
    ]

    operations = [
        migrations.AlterField(
            model_name="legalhold",
            name="authority",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="consult.authority"),
        ),
        migrations.RemoveConstraint(model_name="legalhold", name="one_active_hold"),
        migrations.AddConstraint(
            model_name="legalhold",
            constraint=models.UniqueConstraint(
                condition=Q(lifted_at__isnull=True), fields=("case", "authority"), name="one_active_hold_per_party"
            ),
        ),
    ]
