"""Notify officers and supervisors of approaching and passed deadlines: run it daily (e.g. cron).

Idempotent: each notice (deadline, due date, stage) is sent once however
often the command runs, and on several machines at once.
"""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.actions.notifications import do_send_deadline_notices, thresholds


class Command(BaseCommand):
    help = "Send the deadline notices that are due (in-app and by e-mail); safe to run repeatedly."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="judge as of this date (YYYY-MM-DD) instead of today")

    def handle(self, *args: Any, **options: Any) -> None:
        today = None
        if options["today"]:
            try:
                today = dt.date.fromisoformat(options["today"])
            except ValueError:
                raise CommandError("--today must be a date, YYYY-MM-DD.") from None
        sent = do_send_deadline_notices(today)
        for notice in sent:
            self.stdout.write(f"{notice.case_reference}: {notice.stage} → {len(notice.recipients)} recipient(s)")
        limits = ", ".join(str(n) for n in thresholds())
        self.stdout.write(f"{len(sent)} notice(s) sent (thresholds: {limits} days, and when passed).")
