"""Example treaty profiles (docs/decisions.md, "Deadlines"): data, editable in the admin.

Limits are quoted from the instruments named; check them against the
authentic text before relying on them. ``extension_days`` is the most a
limit may be extended by, in the same kind of days from the same start.
"""

from django.db import migrations

PROFILES = [
    {
        "code": "ece-1957",
        "name": "European Convention on Extradition (1957)",
        "scope": "convention",
        "instrument": "Council of Europe, ETS No. 24, Paris, 13 December 1957",
        "notes": "Provisional arrest may end after 18 days without the request and shall not exceed 40 days.",
        "limits": [
            ("formal-request", "Formal request after provisional arrest", "provisional_arrest", 18, "calendar", 22,
             "Art. 16(4)"),
            ("take-over", "Taking over after the surrender date", "surrender_date", 15, "calendar", 15,
             "Art. 18(4)"),
        ],
    },
    {
        "code": "eaw-2002",
        "name": "European arrest warrant (Framework Decision 2002/584/JHA)",
        "scope": "convention",
        "instrument": "Council Framework Decision 2002/584/JHA of 13 June 2002, OJ L 190, 18.7.2002",
        "notes": "Time limits for the decision may be extended by a further 30 days (Art. 17(4)).",
        "limits": [
            ("decision-consent", "Final decision after consent", "consent", 10, "calendar", 30, "Art. 17(2), 17(4)"),
            ("decision", "Final decision after arrest", "arrest", 60, "calendar", 30, "Art. 17(3), 17(4)"),
            ("surrender", "Surrender after the final decision", "final_decision", 10, "calendar", 10,
             "Art. 23(2), 23(3)"),
        ],
    },
    {
        "code": "eio-2014",
        "name": "European Investigation Order (Directive 2014/41/EU)",
        "scope": "convention",
        "instrument": "Directive 2014/41/EU of 3 April 2014, OJ L 130, 1.5.2014",
        "notes": "The recognition decision may be postponed by up to 30 days (Art. 12(5)).",
        "limits": [
            ("recognition", "Decision on recognition", "request_received", 30, "calendar", 30, "Art. 12(3), 12(5)"),
            ("execution", "Carrying out the measure", "decision", 90, "calendar", 0, "Art. 12(4)"),
        ],
    },
    {
        "code": "gb-us-2003",
        "name": "United Kingdom – United States Extradition Treaty (2003)",
        "scope": "bilateral",
        "state_a": "GB",
        "state_b": "US",
        "instrument": "Extradition Treaty between the UK and the USA, Washington, 31 March 2003",
        "notes": "A provisionally arrested person may be discharged after 60 days without the request.",
        "limits": [
            ("formal-request", "Formal request after provisional arrest", "provisional_arrest", 60, "calendar", 0,
             "Art. 12(4)"),
        ],
    },
    {
        "code": "service-standard",
        "name": "Service standard (example, working days)",
        "scope": "internal",
        "instrument": "An authority's own service standard: an example to adapt in the admin",
        "notes": "Working days are Monday to Friday less the holidays listed on the profile.",
        "limits": [
            ("acknowledge", "Acknowledge receipt of the request", "request_received", 5, "working", 0, ""),
            ("first-reply", "First substantive reply", "request_received", 20, "working", 10, ""),
        ],
    },
]


def load(apps, schema_editor):
    TreatyProfile = apps.get_model("cases", "TreatyProfile")
    TreatyLimit = apps.get_model("cases", "TreatyLimit")
    for data in PROFILES:
        fields = {k: v for k, v in data.items() if k not in ("code", "limits")}
        profile, _ = TreatyProfile.objects.update_or_create(code=data["code"], defaults=fields)
        for order, (code, label, start, days, day_type, extension, reference) in enumerate(data["limits"]):
            TreatyLimit.objects.update_or_create(
                profile=profile, code=code,
                defaults={"label": label, "start_event": start, "days": days, "day_type": day_type,
                          "extension_days": extension, "reference": reference, "order": order},
            )


def unload(apps, schema_editor):
    TreatyProfile = apps.get_model("cases", "TreatyProfile")
    TreatyProfile.objects.filter(code__in=[p["code"] for p in PROFILES], cases__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_workflow_deadlines_registers")]

    operations = [migrations.RunPython(load, unload)]
