from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consult.actions.accounts import do_issue_enrolment_link, enrolment_url
from consult.conf import comity_settings
from consult.models import User


class Command(BaseCommand):
    help = (
        "Print a new single-use, expiring enrolment link for an existing account: redeeming it sets a new "
        "password and removes the old authenticator and backup codes (a lost phone)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active account {options['email']!r}.")
        token = do_issue_enrolment_link(user)
        link = enrolment_url(token)
        hours = comity_settings.COMITY_ENROLMENT_LINK_SECONDS // 3600
        self.stdout.write(f"Enrolment link for {user.email} (single use, expires in {hours} h):")
        self.stdout.write(link)
        self.stdout.write(
            "Its sessions and sockets end once it is redeemed; their second factor then has to be enrolled again."
        )
