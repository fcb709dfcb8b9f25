"""Load demonstration data: two ministries of justice, their staff, three cases."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from cases.actions.cases import check_create_case, check_set_assignments
from consult.actions.accounts import do_create_authority, do_create_user
from consult.actions.devices import check_publish_identity, check_publish_records_key, current_records_key
from consult.client import BackupKey, Identity, RecordsKey
from consult.models import Authority, IdentityKey, User

DEMO_PASSWORD = "comity-demo-password"  # noqa: S105 - printed for the demo on purpose
# Threads need both authorities' records keys (DESIGN §4). A supervisor makes
# one in the browser; for the demo, the supervisors' identity keys and the
# records keys are made here, offline, with the reference client, wrapped
# under these printed passphrases (never do this with real keys).
DEMO_RECOVERY_PASSPHRASE = "comity demo recovery passphrase"  # noqa: S105
DEMO_RECORDS_PASSPHRASE = "comity demo records passphrase"  # noqa: S105

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
        made = self._records_keys()
        self.stdout.write(f"Demo accounts (password: {DEMO_PASSWORD}; you enrol a second factor at first sign-in):")
        for email, name, role, code in PEOPLE:
            self.stdout.write(f"  {email:<26} {role:<11} {code:<7} {name}")
        if made:
            self.stdout.write(f"Records keys made for {', '.join(made)}.")
        self.stdout.write(
            f"Supervisors' recovery passphrase (restores their keys in the browser): {DEMO_RECOVERY_PASSPHRASE}"
        )
        self.stdout.write(f"Records passphrase of FR-MJ and DE-BFJ: {DEMO_RECORDS_PASSPHRASE}")

    def _records_keys(self) -> list[str]:
        """Give each central authority a records key certified by its supervisor, if it has none."""
        made = []
        for email, _name, role, code in PEOPLE:
            authority = Authority.objects.get(code=code)
            if role != User.Role.SUPERVISOR or current_records_key(authority.pk) is not None:
                continue
            supervisor = User.objects.get(email=email)
            identity = self._supervisor_identity(supervisor)
            records = RecordsKey.generate(code)
            certificate = identity.certify_records_key(records).to_json()
            check_publish_records_key(
                supervisor, authority, {**certificate, "wrapped": records.wrap(DEMO_RECORDS_PASSPHRASE)}
            )
            made.append(code)
        return made

    def _supervisor_identity(self, supervisor: User) -> Identity:
        """The supervisor's identity: unwrapped if published, else made and published now."""
        user_id = str(supervisor.pk)
        published = IdentityKey.objects.filter(user=supervisor).first()
        if published is not None:
            return Identity.unwrap(user_id, published.identity_wrapped, DEMO_RECOVERY_PASSPHRASE)
        identity, backup = Identity.generate(user_id), BackupKey.generate(user_id)
        check_publish_identity(
            supervisor,
            {
                "identity": identity.public,
                "backup": backup.public,
                "identity_wrapped": identity.wrap(DEMO_RECOVERY_PASSPHRASE),
                "backup_wrapped": backup.wrap(DEMO_RECOVERY_PASSPHRASE),
            },
        )
        return identity

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
