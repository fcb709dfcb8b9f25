"""Each party holds a case on its own: a hold names the authority that set it."""

import django.db.models.deletion
from django.db import migrations, models


def name_the_setters_authority(apps, schema_editor):  # type: ignore[no-untyped-def]
    LegalHold = apps.get_model("consult", "LegalHold")
    for hold in LegalHold.objects.select_related("set_by"):
        hold.authority_id = hold.set_by.authority_id
        hold.save(update_fields=["authority"])


class Migration(migrations.Migration):
    dependencies = [
        ("consult", "0007_device_sessions"),
    ]

    operations = [
        migrations.AddField(
            model_name="legalhold",
            name="authority",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="consult.authority"
            ),
        ),
        migrations.RunPython(name_the_setters_authority, migrations.RunPython.noop),
    ]
