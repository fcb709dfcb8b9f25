from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consult.actions.accounts import do_create_user, do_issue_enrolment_link, enrolment_url
from consult.conf import comity_settings
from consult.exceptions import BadInput
from consult.models import Authority, User


class Command(BaseCommand):
    help = "Add an account and print its single-use, expiring enrolment link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", required=True, help="Display name")
        parser.add_argument("--role", choices=User.Role.values, default=User.Role.OFFICER)
        parser.add_argument("--authority", help="Authority code (not for admins)")

    def handle(self, *args: Any, **options: Any) -> None:
        authority = None
        if options["authority"]:
            authority = Authority.objects.filter(code=options["authority"].upper()).first()
            if authority is None:
                raise CommandError(f"Unknown authority {options['authority']!r}; add it with add_authority.")
        try:
            user = do_create_user(options["email"], options["name"], options["role"], authority)
        except BadInput as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.fields.items())) from None
        token = do_issue_enrolment_link(user)
        link = enrolment_url(token)
        self.stdout.write(self.style.SUCCESS(f"Added {user.email} ({user.role})."))
        self.stdout.write(
            f"Enrolment link (single use, expires in {comity_settings.COMITY_ENROLMENT_LINK_SECONDS // 3600} h):"
        )
        self.stdout.write(link)
