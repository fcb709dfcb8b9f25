"""Load demonstration data: two ministries of justice, their staff, three cases."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from cases.actions.cases import check_create_case, check_set_assignments
from consult.actions.accounts import do_create_authority, do_create_user
from consult.models import Authority, User

DEMO_PASSWORD = "comity-demo-password"  # noqa: S105 - printed for the demo on purpose

AUTHORITIES = [
    ("FR-MJ", "FR", "Ministère de la Justice — Bureau de l'entraide pénale internationale", Authority.Kind.CENTRAL),
    ("DE-BFJ", "DE", "Bundesamt für Justiz — International Legal Assistance", Authority.Kind.CENTRAL),
    ("FR-ML", "FR", "Magistrat de liaison en Allemagne", Authority.Kind.LIAISON),
]

PEOPLE = [
    ("officer@fr-mj.demo", "Camille Martin", User.Role.OFFICER, "FR-MJ"),
    ("officer2@fr-mj.demo", "Louis Bernard", User.Role.OFFICER, "FR-MJ"),
    ("supervisor@fr-mj.demo", "Hélène Dubois", User.Role.SUPERVISOR, "FR-MJ"),
    ("officer@de-bfj.demo", "Jonas Weber", User.Role.OFFICER, "DE-BFJ"),
    ("supervisor@de-bfj.demo", "Anna Schmidt", User.Role.SUPERVISOR, "DE-BFJ"),
    ("liaison@fr-ml.demo", "Sophie Laurent", User.Role.LIAISON, "FR-ML"),
]


class Command(BaseCommand):
    help = f"Create demo authorities, accounts (password {DEMO_PASSWORD!r}) and three cases; safe to run twice."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is for development only.")
        if User.objects.filter(email=PEOPLE[0][0]).exists():
            self.stdout.write("Demo data already loaded.")
        else:
            with transaction.atomic():
                self._load()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(f"Demo accounts (password: {DEMO_PASSWORD}; you enrol a second factor at first sign-in):")
        for email, name, role, code in PEOPLE:
            self.stdout.write(f"  {email:<26} {role:<11} {code:<7} {name}")

    def _load(self) -> None:
        authorities = {
            code: do_create_authority(code, country, name, kind) for code, country, name, kind in AUTHORITIES
        }
        people = {
            email: do_create_user(email, name, role, authorities[code], password=DEMO_PASSWORD)
            for email, name, role, code in PEOPLE
        }
        fr, fr2, de = people["officer@fr-mj.demo"], people["officer2@fr-mj.demo"], people["officer@de-bfj.demo"]
        today = timezone.localdate()
        extradition = check_create_case(
            fr,
            {
                "requesting_authority": "FR-MJ",
                "requested_authority": "DE-BFJ",
                "requesting_reference": "EPI-2026-0412",
                "requested_reference": "III B 4 - 9340/26",
                "kind": "extradition",
                "legal_basis": "multilateral_convention",
                "legal_basis_name": "European Convention on Extradition (1957)",
                "interpol_notice": "A-1234/5-2026",
                "deadlines": [{"label": "End of provisional arrest (40 days)", "due": today + dt.timedelta(days=12)}],
            },
        )
        mla = check_create_case(
            de,
            {
                "requesting_authority": "DE-BFJ",
                "requested_authority": "FR-MJ",
                "requesting_reference": "RH 2026/118",
                "kind": "mla",
                "legal_basis": "multilateral_convention",
                "legal_basis_name": "EU Convention on Mutual Assistance in Criminal Matters (2000)",
                "status": "awaiting_information",
                "deadlines": [{"label": "Hearing date abroad", "due": today - dt.timedelta(days=2)}],
            },
        )
        transfer = check_create_case(
            fr2,
            {
                "requesting_authority": "FR-MJ",
                "requested_authority": "DE-BFJ",
                "requesting_reference": "TP-2026-0077",
                "kind": "transfer_of_proceedings",
                "legal_basis": "bilateral_treaty",
                "legal_basis_name": "Franco-German agreement on judicial cooperation",
            },
        )
        self._assign(people, extradition, mla, transfer)

    def _assign(self, people: dict[str, User], extradition: Any, mla: Any, transfer: Any) -> None:
        fr, de = people["officer@fr-mj.demo"], people["officer@de-bfj.demo"]
        check_set_assignments(de, extradition, [str(de.pk)])
        check_set_assignments(fr, mla, [str(fr.pk)])
        check_set_assignments(de, transfer, [str(de.pk)])
