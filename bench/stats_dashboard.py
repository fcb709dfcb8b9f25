"""The statistics dashboard on 10,000 cases and 500,000 entries (issue 6 item 5). Not a test.

::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.stats_dashboard
        [--cases 10000] [--entries 500000] [--rounds 30] [--keep]

It builds a throwaway database with Django's test-database machinery
(``test_<name>``; kept between runs with ``--keep``). It fills the database
with ``bulk_create``: one home authority that is a party to every case,
thirty counterparts, threads with hash-chain-shaped entries (random
ciphertext), and the workflow rows the server would have recorded for
their headers. Then it renders the supervisor's dashboard through the test
client, with a verified session and the full middleware stack. Each round
measures, interleaved:

- **baseline**: the case list page of the same supervisor (``/cases/``),
  an existing page on the same data, rendered by the same stack;
- **dashboard, one year**: ``/statistics/`` over the last twelve months;
- **dashboard, three years**: the same over three years (all the data);
- **API**: ``/api/v1/statistics`` over three years.

It reports p50, p90 and max of each, and each one's median as a ratio to the
baseline's (STYLE §22). Every figure comes from this one run. The JSON goes
to ``bench/results/stats_dashboard.json``; the table goes to
``docs/performance.md``, section "Statistics dashboard". The target is a
dashboard under 1 s.
"""

import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consult.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from cases.actions.workflow import month_of  # noqa: E402
from cases.models import (  # noqa: E402
    Assurance,
    AssuranceEvent,
    Case,
    Clarification,
    Deadline,
    Item,
    MonitoringTask,
)
from consult.models import Authority, Entry, Thread, User  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "stats_dashboard.json"
PERFORMANCE = ROOT / "docs" / "performance.md"
SECTION = "## Statistics dashboard"
COUNTRIES = [
    "DE", "IT", "ES", "NL", "BE", "PL", "PT", "AT", "SE", "DK", "FI", "IE", "GR", "CZ", "HU",
    "RO", "BG", "HR", "SI", "SK", "LT", "LV", "EE", "LU", "MT", "CY", "GB", "US", "CA", "CH",
]  # fmt: skip
KINDS = ["text"] * 50 + ["clarification"] * 10 + ["answer"] * 8 + ["assurance"] * 5 + ["document"] * 15 + ["note"] * 12
BATCH = 5000
NOW = timezone.now()
TODAY = NOW.date()
rng = random.Random(20261122)  # a fixed seed: the same data set every run


def batched(rows: Sequence[Any], model: Any) -> list[Any]:
    made: list[Any] = []
    for start in range(0, len(rows), BATCH):
        made += model.objects.bulk_create(rows[start : start + BATCH])
    return made


def when(days_ago: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days_ago)


def make_people() -> tuple[Authority, User, list[Authority], list[User]]:
    home = Authority.objects.create(code="FR-MJ", country="FR", name="Home authority")
    others = [Authority.objects.create(code=f"{c}-CA", country=c, name=f"Central authority {c}") for c in COUNTRIES]
    supervisor = User.objects.create_user("supervisor@bench.example", "bench-password-1", display_name="Supervisor",
                                          role=User.Role.SUPERVISOR, authority=home)  # fmt: skip
    officers = [
        User.objects.create_user(f"officer{n}@bench.example", display_name=f"Officer {n}", authority=a)
        for n, a in enumerate([home, *others])
    ]
    return home, supervisor, others, officers


def make_cases(count: int, home: Authority, others: list[Authority], officer: User) -> list[Case]:
    """Three years of cases; 70 % outgoing; 60 % concluded."""
    opened_field, updated_field = Case._meta.get_field("opened_at"), Case._meta.get_field("updated_at")
    opened_field.auto_now_add = updated_field.auto_now = False  # type: ignore[attr-defined]
    rows = []
    for n in range(count):
        other = rng.choice(others)
        outgoing = rng.random() < 0.7
        opened = when(rng.uniform(0, 3 * 365))
        outcome, outcome_on = "", None
        if rng.random() < 0.6:
            outcome = rng.choice(["granted", "granted", "refused", "withdrawn"])
            outcome_on = min(TODAY, (opened + dt.timedelta(days=rng.uniform(10, 400))).date())
        case = Case(
            requesting_authority=home if outgoing else other, requested_authority=other if outgoing else home,
            requesting_reference=f"BENCH-{n:05d}", kind=rng.choice(Case.Kind.values), legal_basis="reciprocity",
            status=rng.choice(Case.Status.values), opened_at=opened, updated_at=opened, outcome=outcome,
            outcome_on=outcome_on, created_by=officer,
        )  # fmt: skip
        rows.append(case)
    return batched(rows, Case)


def entry_text(thread: Thread, seq: int, kind: str, at: dt.datetime, meta: dict[str, Any]) -> str:
    """An entry shaped like the real thing: header in clear, ciphertext random."""
    header = {"v": 1, "thread": str(thread.pk), "epoch": 1, "kind": kind, "meta": meta}
    ct = os.urandom(rng.randint(120, 600)).hex()
    body = {"header": header, "iv": os.urandom(12).hex(), "ct": ct, "sig": os.urandom(64).hex()}
    return json.dumps({"thread": str(thread.pk), "seq": seq, "at": at.isoformat(), "kind": "message", "body": body})


def make_record(cases: list[Case], entries: int, officers: dict[int, User]) -> dict[str, int]:
    """Threads, entries (exactly ``entries``) and the workflow rows their headers would have produced."""
    rows = [(c, i) for c in cases for i in range(1 + (rng.random() < 0.5))]
    made = [Thread(case=c, subject=f"Thread {i}", history="shared", created_by=officers[c.requesting_authority_id],
                   head_hash=b"") for c, i in rows]  # fmt: skip
    threads = batched(made, Thread)
    by_case: dict[Any, list[Thread]] = {}
    for thread in threads:
        by_case.setdefault(thread.case_id, []).append(thread)
    counts = {"threads": len(threads), "entries": 0, "items": 0, "clarifications": 0, "assurances": 0}
    budgets = spread(entries, len(threads))
    pending: list[tuple[Entry, Item, str, dict[str, Any]]] = []
    for case in cases:
        start = (NOW - case.opened_at).total_seconds() / 86400
        for thread in by_case[case.pk]:
            pending += thread_entries(case, thread, budgets.pop(), start, officers)
        if len(pending) >= 50_000:
            flush(pending, counts)
            pending = []
    flush(pending, counts)
    return counts


def spread(total: int, parts: int) -> list[int]:
    """``parts`` thread lengths (at least 3: creation, keys, a message) around the mean, summing to ``total``."""
    mean = total / parts
    sizes = [max(3, round(rng.gauss(mean, mean / 3))) for _ in range(parts)]
    while (diff := total - sum(sizes)) != 0:
        index = rng.randrange(parts)
        if diff > 0 or sizes[index] > 3:
            sizes[index] += 1 if diff > 0 else -1
    return sizes


def thread_entries(case: Case, thread: Thread, count: int, age: float, officers: dict[int, User]) -> Iterator[Any]:
    sides = [case.requesting_authority_id, case.requested_authority_id]
    moments = sorted(when(rng.uniform(0, max(age, 0.01))) for _ in range(count))
    for seq, at in enumerate(moments, start=1):
        authority = rng.choice(sides)
        kind = "message" if seq > 2 else ("create" if seq == 1 else "keys")
        item_kind = rng.choice(KINDS) if kind == "message" else ""
        meta: dict[str, Any] = {}
        entry = Entry(thread=thread, seq=seq, at=at, kind=kind, actor_user=officers[authority], actor_device="bench",
                      epoch=1, canonical=entry_text(thread, seq, item_kind or kind, at, meta),
                      digest=os.urandom(32), hash=os.urandom(32), server_sig=os.urandom(64))  # fmt: skip
        item = None
        if item_kind:
            side = "requesting" if authority == case.requesting_authority_id else "requested"
            item = Item(thread=thread, case=case, seq=seq, at=at, month=month_of(at), kind=item_kind,
                        sender=officers[authority], sender_authority_id=authority, side=side)  # fmt: skip
        yield entry, item, item_kind, {"authority": authority, "other": sides[1] if authority == sides[0] else sides[0]}


def flush(pending: list[tuple[Entry, Item | None, str, dict[str, Any]]], counts: dict[str, int]) -> None:
    """Store entries and items, then the clarifications and assurances the items open and move."""
    entries = batched([e for e, _, _, _ in pending], Entry)
    items = []
    for entry, (_, item, _, _) in zip(entries, pending, strict=True):
        if item is not None:
            item.entry = entry
            items.append(item)
    batched(items, Item)
    counts["entries"] += len(entries)
    counts["items"] += len(items)
    open_clarifications: dict[Any, list[Clarification]] = {}
    clarifications: list[Clarification] = []
    open_assurance: dict[Any, Assurance] = {}
    assurances: list[Assurance] = []
    events: list[tuple[Assurance, Item, str, int]] = []
    for _, item, kind, sides in pending:
        if item is None:
            continue
        if kind == "clarification":
            row = Clarification(item=item, case_id=item.case_id, thread_id=item.thread_id, seq=item.seq,
                                asked_at=item.at, due=(item.at + dt.timedelta(days=14)).date(),
                                asked_by_id=sides["authority"], answer_by_id=sides["other"])  # fmt: skip
            clarifications.append(row)
            open_clarifications.setdefault(item.thread_id, []).append(row)
        elif kind == "answer" and open_clarifications.get(item.thread_id):
            row = open_clarifications[item.thread_id].pop(0)
            row.answer, row.answered_at = item, item.at
        elif kind == "assurance":
            current = open_assurance.get(item.thread_id)
            if current is None or current.status in ("accepted", "declined", "withdrawn"):
                current = Assurance(
                    case_id=item.case_id, thread_id=item.thread_id, seq=item.seq, status="requested",
                    type=rng.choice(["death_penalty", "torture", "fair_trial", "prison_conditions", "speciality"]),
                    requesting_authority_id=sides["authority"], requested_authority_id=sides["other"],
                    opened_at=item.at, updated_at=item.at,
                )  # fmt: skip
                assurances.append(current)
                open_assurance[item.thread_id] = current
            else:
                moves = ["accepted", "accepted", "declined", "withdrawn"]
                current.status = "offered" if current.status == "requested" else rng.choice(moves)
                current.updated_at = item.at
            events.append((current, item, current.status, sides["authority"]))
    batched(clarifications, Clarification)
    batched(assurances, Assurance)
    batched(
        [AssuranceEvent(assurance=a, item=i, status=s, at=i.at, authority_id=who) for a, i, s, who in events],
        AssuranceEvent,
    )
    tasks = [
        MonitoringTask(assurance=a, kind="visit", due=(a.updated_at + dt.timedelta(days=90)).date())
        for a in assurances
        if a.status == "accepted"
    ]
    batched(tasks, MonitoringTask)
    counts["clarifications"] += len(clarifications)
    counts["assurances"] += len(assurances)


def make_deadlines(cases: list[Case]) -> None:
    rows = [
        Deadline(
            case=c,
            label="Formal request",
            due=TODAY + dt.timedelta(days=rng.randint(-60, 60)),
            met_on=TODAY if rng.random() < 0.5 else None,
        )
        for c in cases
        if rng.random() < 0.6
    ]
    batched(rows, Deadline)


def verified(user: User) -> Client:
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def timed(client: Client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest sample with at least ``q`` of the samples at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def measure(client: Client, rounds: int) -> dict[str, dict[str, float]]:
    year, three = (TODAY - dt.timedelta(days=365)).isoformat(), (TODAY - dt.timedelta(days=3 * 365)).isoformat()
    urls: dict[str, str] = {
        "baseline: case list": "/cases/",
        "dashboard, one year": f"/statistics/?start={year}&end={TODAY}",
        "dashboard, three years": f"/statistics/?start={three}&end={TODAY}",
        "API, three years": f"/api/v1/statistics?start={three}&end={TODAY}",
    }
    for url in urls.values():  # warm caches and connections
        timed(client, url)
    samples: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            samples[name].append(timed(client, url))
    base = statistics.median(samples["baseline: case list"])
    figures = {}
    for name, s in samples.items():
        figures[name] = {"p50_ms": statistics.median(s) * 1000, "p90_ms": percentile(s, 0.9) * 1000,
                         "max_ms": max(s) * 1000, "ratio_to_baseline": statistics.median(s) / base}  # fmt: skip
    return figures


def write_section(result: dict[str, Any]) -> None:
    """Replace (or add) this benchmark's section of docs/performance.md, leaving other sections alone."""
    lines = [
        SECTION,
        "",
        "`python -m bench.stats_dashboard` (see its docstring) renders the supervisor's dashboard",
        "(`/statistics/`) through the full middleware stack, on an authority that is a party to every",
        f"case: {result['data']['cases']:,} cases, {result['data']['threads']:,} threads, "
        f"{result['data']['entries']:,} entries, {result['data']['items']:,} workflow items,",
        f"{result['data']['clarifications']:,} clarifications, {result['data']['assurances']:,} assurances. "
        f"Baseline: the case list page (`/cases/`) of the same",
        f"user in the same run. {result['rounds']} interleaved rounds after a warm-up; {result['database']}; "
        f"{result['when']}; {result['cores']} cores, load average {result['load'][0]:.1f} before and "
        f"{result['load'][1]:.1f} after (other jobs share the machine: compare the ratios).",
        "",
        "| page | p50 | p90 | max | median ÷ baseline |",
        "|---|---|---|---|---|",
    ]
    for name, figures in result["figures"].items():
        lines.append(
            f"| {name} | {figures['p50_ms']:.0f} ms | {figures['p90_ms']:.0f} ms | "
            f"{figures['max_ms']:.0f} ms | {figures['ratio_to_baseline']:.2f} |"
        )
    lines += [
        "",
        "Target (issue 6): the dashboard renders in under 1 s. Every statistic is an aggregate over",
        "indexed metadata columns (`cases_case`, `cases_item`, `cases_clarification`, `cases_assurance`,",
        "`cases_deadline`); no query reads `consult_entry`, whose size does not affect these figures.",
        "",
    ]
    text = PERFORMANCE.read_text() if PERFORMANCE.exists() else "# Performance\n\n"
    if SECTION in text:
        before, rest = text.split(SECTION, 1)
        after = rest[rest.find("\n## ") + 1 :] if "\n## " in rest else ""
        text = before + "\n".join(lines) + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines)
    PERFORMANCE.write_text(text)


def run(args: argparse.Namespace, report: Callable[[str], None]) -> dict[str, Any]:
    setup_test_environment(debug=False)  # as in production: no query log, no debug pages
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.keep)
    version = getattr(connection, "pg_version", 0)
    database = f"PostgreSQL {version // 10000}.{version % 100}" if version else connection.vendor
    try:
        size = (Case.objects.count(), Entry.objects.count())
        if size != (args.cases, args.entries):
            if Authority.objects.filter(code="FR-MJ").exists():
                raise SystemExit("The kept database holds another data set: run once without --keep.")
            started = time.perf_counter()
            home, supervisor, others, officers = make_people()
            by_authority = {o.authority_id: o for o in officers}
            cases = make_cases(args.cases, home, others, by_authority[home.pk])
            counts = make_record(cases, args.entries, by_authority)
            make_deadlines(cases)
            counts["cases"] = len(cases)
            report(f"generated {counts} in {time.perf_counter() - started:.0f} s")
        else:
            supervisor = User.objects.get(email="supervisor@bench.example")
            models = {"cases": Case, "entries": Entry, "items": Item, "clarifications": Clarification,
                      "assurances": Assurance, "threads": Thread}  # fmt: skip
            counts = {key: model.objects.count() for key, model in models.items()}
            report(f"reusing {counts}")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        TOTPDevice.objects.filter(user=supervisor).delete()
        load = [os.getloadavg()[0]]
        figures = measure(verified(supervisor), args.rounds)
        load.append(os.getloadavg()[0])
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(name, verbosity=0)
    return {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "database": database,
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "load": load,
        "rounds": args.rounds,
        "data": counts,
        "figures": figures,
        "debug": settings.DEBUG,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the generated database")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/performance.md")
    args = parser.parse_args()
    result = run(args, print)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for name, figures in result["figures"].items():
        print(
            f"{name:<24} p50 {figures['p50_ms']:7.1f} ms  p90 {figures['p90_ms']:7.1f} ms  "
            f"x baseline {figures['ratio_to_baseline']:.2f}"
        )
    if not args.no_docs:
        write_section(result)


if __name__ == "__main__":
    main()
