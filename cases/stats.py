"""Statistics for supervisors, from metadata only (issue 6 item 5; docs/decisions.md, "Statistics").

Every figure is an aggregate over metadata columns: cases' kinds, statuses,
outcomes and dates, and the workflow tables filled from signed headers
(``cases.models.workflow``). No query here reads an entry's ``canonical``
text, so nothing depends on encrypted content (a test proves it by
corrupting every ciphertext).

Scope: the cases of one authority (as either party), optionally only those
with one counterpart (an authority code or a state); flows are counted over
a period ``[start, end]`` of whole days (UTC).
"""

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    BooleanField,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models import Case as When_
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases.conf import cases_settings
from cases.lib.search import counterpart_of
from cases.models import Assurance, AssuranceStatus, AssuranceType, Case, Clarification, Deadline, Item, MonitoringTask
from consult.models import Thread

FLOW = ("carried_forward", "new", "granted", "refused", "withdrawn", "pending")
FLOW_LABELS = {
    "carried_forward": _("Carried forward"), "new": _("New"), "granted": _("Granted"), "refused": _("Refused"),
    "withdrawn": _("Withdrawn"), "pending": _("Pending"),
}  # fmt: skip
MESSAGE_KINDS = ("text", "clarification", "answer", "assurance", "document", "note")


@dataclass(frozen=True)
class Filters:
    """Whose statistics, over which days, with which counterpart."""

    authority_id: int
    start: dt.date
    end: dt.date
    counterpart: str = ""

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=dt.UTC)

    @property
    def end_before(self) -> dt.datetime:
        """The first instant after the period."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


@dataclass
class Table:
    """One table of the dashboard; ``name`` is its CSV file name."""

    name: str
    title: Promise | str
    columns: list[tuple[str, Promise | str]]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": str(self.title), "columns": [k for k, _ in self.columns], "rows": self.rows}


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-quantile (0..1) with linear interpolation between closest ranks (PostgreSQL ``percentile_cont``)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def our_cases(filters: Filters) -> QuerySet[Case]:
    """The authority's cases, narrowed to the counterpart if one is given."""
    mine = Q(requesting_authority_id=filters.authority_id) | Q(requested_authority_id=filters.authority_id)
    if filters.counterpart:
        mine = counterpart_of(filters.authority_id, filters.counterpart)
    return Case.objects.filter(mine)


def _flow_counts(filters: Filters) -> list[Any]:
    """One row per (kind, direction, counterpart state, status) with the six flow counts."""
    start, end = filters.start, filters.end
    outgoing = Q(requesting_authority_id=filters.authority_id)
    scope = Q(opened_at__lt=filters.end_before) & (Q(outcome_on__isnull=True) | Q(outcome_on__gte=start))
    outcome = {o: Count("pk", filter=Q(outcome=o, outcome_on__lte=end)) for o in Case.Outcome.values}
    return list(
        our_cases(filters)
        .filter(scope)
        .annotate(
            direction=When_(
                When(outgoing, then=Value("outgoing")), default=Value("incoming"), output_field=CharField()
            ),
            counterpart=When_(
                When(outgoing, then=F("requested_authority__country")), default=F("requesting_authority__country")
            ),
        )
        .order_by()
        .values("kind", "direction", "counterpart", "status")
        .annotate(
            carried_forward=Count("pk", filter=Q(opened_at__lt=filters.start_at)),
            new=Count("pk", filter=Q(opened_at__gte=filters.start_at)),
            pending=Count("pk", filter=Q(outcome_on__isnull=True) | Q(outcome_on__gt=end)),
            **outcome,
        )
    )


def _grouped(counts: Iterable[dict[str, Any]], key: str, labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    sums: dict[str, Counter[str]] = defaultdict(Counter)
    for row in counts:
        sums[row[key]].update({f: row[f] for f in FLOW})
    total: Counter[str] = Counter()
    rows = []
    for group in sorted(sums):
        total.update(sums[group])
        rows.append({key: group, "label": (labels or {}).get(group, group), **{f: sums[group][f] for f in FLOW}})
    rows.append({key: "", "label": str(_("Total")), **{f: total[f] for f in FLOW}})
    return rows


def case_tables(filters: Filters) -> list[Table]:
    """Cases by kind, counterpart state and direction (flows), and by current status."""
    counts = _flow_counts(filters)
    columns: list[tuple[str, Promise | str]] = [("label", _("Group")), *((f, FLOW_LABELS[f]) for f in FLOW)]
    kinds = {k: str(v) for k, v in Case.Kind.choices}
    directions = {"outgoing": str(_("Outgoing (we request)")), "incoming": str(_("Incoming (we are requested)"))}
    statuses: Counter[str] = Counter()
    for row in counts:
        statuses[row["status"]] += row["carried_forward"] + row["new"]
    return [
        Table("cases_by_kind", _("Cases by kind"), columns, _grouped(counts, "kind", kinds)),
        Table("cases_by_counterpart", _("Cases by counterpart state"), columns, _grouped(counts, "counterpart")),
        Table("cases_by_direction", _("Cases by direction"), columns, _grouped(counts, "direction", directions)),
        Table(
            "cases_by_status",
            _("Cases of the period by current status"),
            [("label", _("Status")), ("cases", _("Cases"))],
            [{"label": str(label), "status": s, "cases": statuses[s]} for s, label in Case.Status.choices],
        ),
    ]


def clarification_table(filters: Filters, today: dt.date) -> Table:
    """Clarifications asked by us and of us: volume, response times (days), lateness, open and overdue."""
    mine = Clarification.objects.filter(case__in=our_cases(filters).values("pk")).order_by()
    ours = When_(
        When(asked_by_id=filters.authority_id, then=Value(True)), default=Value(False), output_field=BooleanField()
    )
    counts: dict[bool, Counter[str]] = {True: Counter(), False: Counter()}
    period = {"gte": filters.start_at, "lt": filters.end_before}
    for row in (
        mine.annotate(ours=ours)
        .values("ours")
        .annotate(
            asked=Count("pk", filter=Q(asked_at__gte=period["gte"], asked_at__lt=period["lt"])),
            open=Count("pk", filter=Q(answered_at__isnull=True)),
            overdue=Count("pk", filter=Q(answered_at__isnull=True, due__lt=today)),
            answered_late=Count("pk", filter=Q(answered_at__gte=period["gte"], answered_at__lt=period["lt"],
                                               answered_at__date__gt=F("due"))),
        )
    ):  # fmt: skip
        counts[row["ours"]].update({k: row[k] for k in ("asked", "open", "overdue", "answered_late")})
    # Response times are the one figure needing every row: one duration each, no content.
    took = ExpressionWrapper(F("answered_at") - F("asked_at"), output_field=DurationField())
    answered = mine.filter(answered_at__gte=period["gte"], answered_at__lt=period["lt"]).annotate(took=took)
    durations: dict[bool, list[float]] = {True: [], False: []}
    for asker, duration in answered.values_list("asked_by_id", "took"):
        durations[asker == filters.authority_id].append(duration.total_seconds() / 86400)
    rows = []
    for mine_, label in ((True, _("Asked by us (they answer)")), (False, _("Asked of us (we answer)"))):
        median, p90 = percentile(durations[mine_], 0.5), percentile(durations[mine_], 0.9)
        rows.append({
            "direction": "asked_by_us" if mine_ else "asked_of_us", "label": str(label),
            "asked": counts[mine_]["asked"], "answered": len(durations[mine_]), "median_days": _round(median),
            "p90_days": _round(p90), "answered_late": counts[mine_]["answered_late"], "open": counts[mine_]["open"],
            "overdue": counts[mine_]["overdue"],
        })  # fmt: skip
    columns: list[tuple[str, Promise | str]] = [
        ("label", _("Direction")), ("asked", _("Asked in the period")), ("answered", _("Answered in the period")),
        ("median_days", _("Median response (days)")), ("p90_days", _("90th percentile (days)")),
        ("answered_late", _("Answered late")), ("open", _("Open now")), ("overdue", _("Overdue now")),
    ]  # fmt: skip
    return Table("clarifications", _("Clarifications and response times"), columns, rows)


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def assurance_table(filters: Filters) -> Table:
    """Assurances opened in the period, by type and current status (outcome)."""
    counts = (
        Assurance.objects.filter(
            case__in=our_cases(filters).values("pk"), opened_at__gte=filters.start_at, opened_at__lt=filters.end_before
        )
        .order_by()
        .values("type", "status")
        .annotate(n=Count("pk"))
    )
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for row in counts:
        table[row["type"]][row["status"]] += row["n"]
    statuses = AssuranceStatus.values
    rows: list[dict[str, Any]] = []
    for kind, label in AssuranceType.choices:
        if table[kind]:
            rows.append({"type": kind, "label": str(label), **{s: table[kind][s] for s in statuses},
                         "total": sum(table[kind].values())})  # fmt: skip
    total = {s: sum(r[s] for r in rows) for s in statuses}
    rows.append({"type": "", "label": str(_("Total")), **total, "total": sum(total.values())})
    columns: list[tuple[str, Promise | str]] = [("label", _("Type"))]
    columns += [(s, label) for s, label in AssuranceStatus.choices] + [("total", _("Total"))]
    return Table("assurances", _("Assurances by type and outcome"), columns, rows)


def overdue_tables(filters: Filters, today: dt.date) -> list[Table]:
    """What is late today: clarifications either side owes, deadlines and monitoring tasks; counts and a list."""
    cases = our_cases(filters).values("pk")
    late_clarifications = Clarification.objects.filter(case__in=cases, answered_at__isnull=True, due__lt=today)
    late_deadlines = Deadline.objects.filter(case__in=cases, met_on__isnull=True, due__lt=today, case__outcome="")
    late_deadlines = late_deadlines.exclude(case__status=Case.Status.CLOSED)
    late_tasks = MonitoringTask.objects.filter(
        assurance__case__in=cases, status=MonitoringTask.Status.OPEN, due__lt=today
    )
    we_owe = late_clarifications.filter(answer_by_id=filters.authority_id)
    counts = [
        ("clarifications_we_owe", _("Clarifications we must answer"), we_owe.count()),
        ("clarifications_they_owe", _("Clarifications the counterpart must answer"),
         late_clarifications.exclude(answer_by_id=filters.authority_id).count()),
        ("deadlines", _("Deadlines passed"), late_deadlines.count()),
        ("monitoring_tasks", _("Monitoring tasks"), late_tasks.count()),
    ]  # fmt: skip
    limit = cases_settings.COMITY_STATS_OVERDUE_ROWS
    items: list[dict[str, Any]] = []
    for c in late_clarifications.select_related("case", "answer_by").order_by("due", "pk")[:limit]:
        items.append(_late(c.case, str(_("Clarification")), f"seq {c.seq} · {c.answer_by.code}", c.due, today))
    for d in late_deadlines.select_related("case").order_by("due", "pk")[:limit]:
        items.append(_late(d.case, str(_("Deadline")), d.label, d.due, today))
    for t in late_tasks.select_related("assurance__case").order_by("due", "pk")[:limit]:
        items.append(_late(t.assurance.case, str(_("Monitoring task")), t.get_kind_display(), t.due, today))
    items.sort(key=lambda row: (row["due"], row["case_reference"]))
    return [
        Table("overdue", _("Overdue items"), [("label", _("Item")), ("count", _("Overdue"))],
              [{"item": key, "label": str(label), "count": n} for key, label, n in counts]),
        Table("overdue_list", _("The most overdue items"),
              [("case_reference", _("Case")), ("what", _("What")), ("detail", _("Detail")), ("due", _("Due")),
               ("days_overdue", _("Days overdue"))], items[:limit]),
    ]  # fmt: skip


def _late(case: Case, what: str, detail: str, due: dt.date, today: dt.date) -> dict[str, Any]:
    return {"case": str(case.pk), "case_reference": case.requesting_reference, "what": what, "detail": detail,
            "due": due, "days_overdue": (today - due).days}  # fmt: skip


def months(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of every month that the period touches."""
    first, found = start.replace(day=1), []
    while first <= end:
        found.append(first)
        first = (first + dt.timedelta(days=32)).replace(day=1)
    return found


def volume_table(filters: Filters) -> Table:
    """Consultation volume per month: messages by kind, and threads opened."""
    cases = our_cases(filters).values("pk")
    period = {"gte": filters.start_at, "lt": filters.end_before}
    by_month: dict[dt.date, Counter[str]] = defaultdict(Counter)
    items = (
        Item.objects.filter(case__in=cases, at__gte=period["gte"], at__lt=period["lt"])
        .order_by()
        .values("month", "kind")  # a column filled on acceptance: no per-row date arithmetic here
        .annotate(n=Count("pk"))
    )
    for row in items:
        by_month[row["month"]][row["kind"]] += row["n"]
    threads = (
        Thread.objects.filter(case__in=cases, created_at__gte=period["gte"], created_at__lt=period["lt"])
        .annotate(month=TruncMonth("created_at", tzinfo=dt.UTC))
        .order_by()
        .values("month")
        .annotate(n=Count("pk"))
    )
    for month, n in threads.values_list("month", "n"):
        by_month[_day(month)]["threads"] += n
    rows = []
    for month in months(filters.start, filters.end):
        counts = by_month[month]
        rows.append({"month": month.strftime("%Y-%m"), **{k: counts[k] for k in MESSAGE_KINDS},
                     "messages": sum(counts[k] for k in MESSAGE_KINDS), "threads": counts["threads"]})  # fmt: skip
    columns: list[tuple[str, Promise | str]] = [("month", _("Month"))]
    columns += [(k, k) for k in MESSAGE_KINDS] + [("messages", _("Messages")), ("threads", _("Threads opened"))]
    return Table("volume", _("Consultation volume"), columns, rows)


def _day(value: dt.datetime | dt.date) -> dt.date:
    """A truncated month as a date (SQLite and PostgreSQL return datetimes)."""
    return value.date() if isinstance(value, dt.datetime) else value


@dataclass
class Dashboard:
    """All tables of the statistics page, in display order."""

    filters: Filters
    tables: list[Table]

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def dashboard(filters: Filters, today: dt.date | None = None) -> Dashboard:
    """Compute every statistic for ``filters``; ``today`` judges what is open or overdue."""
    today = today or timezone.localdate()
    tables = case_tables(filters)
    tables += [clarification_table(filters, today), assurance_table(filters), *overdue_tables(filters, today)]
    tables.append(volume_table(filters))
    return Dashboard(filters, tables)


TABLE_NAMES = (
    "cases_by_kind", "cases_by_counterpart", "cases_by_direction", "cases_by_status", "clarifications",
    "assurances", "overdue", "overdue_list", "volume",
)  # fmt: skip


def table_named(filters: Filters, name: str, today: dt.date | None = None) -> Table:
    """One table, computing only what it needs (for its CSV download)."""
    today = today or timezone.localdate()
    if name.startswith("cases_"):
        found = case_tables(filters)
    elif name.startswith("overdue"):
        found = overdue_tables(filters, today)
    else:
        found = [
            {
                "clarifications": lambda: clarification_table(filters, today),
                "assurances": lambda: assurance_table(filters),
                "volume": lambda: volume_table(filters),
            }[name]()
        ]
    return next(t for t in found if t.name == name)
