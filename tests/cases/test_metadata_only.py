"""No statistic or register reads encrypted content: corrupt every ciphertext and nothing changes (DESIGN §2)."""

import json
import os
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.lib.access import visible_cases
from cases.lib.registers import assurances_of, clarifications_of
from cases.stats import Filters, dashboard
from consult.lib.crypto import b64u
from consult.models import Entry, User
from tests.cases.stats_data import PERIOD, TODAY, StatsData, build
from tests.helpers import make_user, verified_client

pytestmark = pytest.mark.django_db

URLS = (
    "/api/v1/statistics?start=2026-01-01&end=2026-06-30",
    "/api/v1/assurances",
    "/api/v1/clarifications",
    "/statistics/clarifications.csv?start=2026-01-01&end=2026-06-30",
    "/statistics/volume.csv?start=2026-01-01&end=2026-06-30",
    "/statistics/assurances.csv?start=2026-01-01&end=2026-06-30",
    "/registers/assurances.csv",
    "/registers/clarifications.csv?state=all",
)


def everything(data: StatsData, supervisor: User) -> list[Any]:
    """Every statistic and register, as computed and as served."""
    tables = [t.as_dict() for t in dashboard(Filters(data.fr_mj.pk, *PERIOD), today=TODAY).tables]
    registers = [r.as_dict() for r in assurances_of(visible_cases(supervisor))]
    registers += [r.as_dict() for r in clarifications_of(visible_cases(supervisor), {"state": "all"})]
    client = verified_client(supervisor)
    served = []
    for url in URLS:
        response = client.get(url)
        assert response.status_code == 200, url
        served.append(response.content)
    case = data.cases["C1"].pk
    served += [client.get(f"/api/v1/cases/{case}/{what}").content for what in ("assurances", "clarifications")]
    return [json.dumps(tables, default=str, sort_keys=True), json.dumps(registers, default=str), served]


def corrupt_every_ciphertext() -> int:
    """Replace every message's ``ct`` with random bytes of another length; return how many."""
    changed = 0
    for entry in Entry.objects.filter(kind="message"):
        body = json.loads(entry.canonical)
        body["body"]["ct"] = b64u(os.urandom(len(body["body"]["ct"]) // 2 + 7))
        Entry.objects.filter(pk=entry.pk).update(canonical=json.dumps(body))
        changed += 1
    return changed


def test_statistics_and_registers__identical_after_every_ciphertext_is_corrupted() -> None:
    data = build()
    supervisor = make_user(data.fr_mj, User.Role.SUPERVISOR)
    before = everything(data, supervisor)
    assert corrupt_every_ciphertext() == 30  # every message of the data set
    assert everything(data, supervisor) == before
    Entry.objects.update(canonical="")  # not even the headers: the register is its own table
    assert everything(data, supervisor) == before


def test_statistics_and_registers__no_query_touches_the_record() -> None:
    """Not one SQL statement behind any statistic, register, CSV or API answer reads an entry."""
    data = build()
    supervisor = make_user(data.fr_mj, User.Role.SUPERVISOR)
    with CaptureQueriesContext(connection) as queries:
        everything(data, supervisor)
    assert len(queries) > 20
    touching = [q["sql"] for q in queries if "canonical" in q["sql"] or "consult_entry" in q["sql"]]
    assert touching == []
