"""A fixed data set for the statistics tests, built through the real write paths.

Messages are sent as browsers would; afterwards their times are moved into
2025 and 2026 (register rows and items together, as if sent then), so that the
expected figures in ``test_statistics.py`` can be worked out by hand.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cases.actions.assurances import check_add_monitoring_task, check_update_monitoring_task
from cases.actions.workflow import month_of
from cases.models import Assurance, AssuranceEvent, Case, Clarification, Deadline, Item, MonitoringTask
from consult.models import Authority, Thread
from tests.cases.workflow import Scene, make_scene

UTC = dt.UTC
PERIOD = (dt.date(2026, 1, 1), dt.date(2026, 6, 30))
TODAY = dt.date(2026, 7, 15)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class StatsData:
    scene: Scene
    cases: dict[str, Case]

    @property
    def fr_mj(self) -> Authority:
        return Authority.objects.get(code="FR-MJ")


def _case(scene: Scene, name: str, requester: Any, counterpart: str, kind: str, opened: str,
          outcome: str = "", outcome_on: dt.date | None = None, status: str = "open") -> Case:  # fmt: skip
    from tests.helpers import make_case

    case = make_case(requester.user, Authority.objects.get(code=counterpart), kind=kind, requesting_reference=name)
    Case.objects.filter(pk=case.pk).update(opened_at=at(opened), outcome=outcome, outcome_on=outcome_on, status=status)
    return Case.objects.get(pk=case.pk)


def _retime(thread: str, times: dict[int, dt.datetime]) -> None:
    """Move items to the given times and bring the register rows that copy them along."""
    for seq, when in times.items():
        Item.objects.filter(thread_id=thread, seq=seq).update(at=when, month=month_of(when))
    for row in Clarification.objects.filter(thread_id=thread).select_related("item", "answer"):
        row.asked_at = Item.objects.get(pk=row.item_id).at
        row.answered_at = Item.objects.get(pk=row.answer_id).at if row.answer_id else None
        row.save(update_fields=["asked_at", "answered_at"])
    for event in AssuranceEvent.objects.filter(item__thread_id=thread).select_related("item"):
        AssuranceEvent.objects.filter(pk=event.pk).update(at=Item.objects.get(pk=event.item_id).at)
    for assurance in Assurance.objects.filter(thread_id=thread):
        steps = list(assurance.events.order_by("at").values_list("at", flat=True))
        Assurance.objects.filter(pk=assurance.pk).update(opened_at=steps[0], updated_at=steps[-1])


def build() -> StatsData:
    """Nine cases (one between two other authorities), a thread of clarifications and assurances, deadlines."""
    scene = make_scene()
    w = scene.world
    c1 = w.case
    Case.objects.filter(pk=c1.pk).update(requesting_reference="C1", opened_at=at("2025-10-01T09:00"))
    cases = {
        "C1": Case.objects.get(pk=c1.pk),
        "C2": _case(scene, "C2", w.fr, "DE-BFJ", "extradition", "2025-11-15T09:00", "granted", dt.date(2026, 2, 10),
                    "decided"),
        "C3": _case(scene, "C3", w.de, "FR-MJ", "extradition", "2025-12-01T09:00", "refused", dt.date(2025, 12, 20),
                    "closed"),
        "C4": _case(scene, "C4", w.fr, "IT-MG", "mla", "2026-01-01T00:00", "withdrawn", dt.date(2026, 3, 1), "closed"),
        "C5": _case(scene, "C5", w.outsider, "FR-MJ", "mla", "2026-03-15T12:00", "granted", dt.date(2026, 7, 5),
                    "awaiting_information"),
        "C6": _case(scene, "C6", w.de, "FR-MJ", "extradition", "2026-06-30T23:59"),
        "C7": _case(scene, "C7", w.fr, "DE-BFJ", "transfer_of_proceedings", "2026-07-01T00:00"),
        "C8": _case(scene, "C8", w.de, "IT-MG", "extradition", "2026-02-01T09:00"),
        "C9": _case(scene, "C9", w.fr, "IT-MG", "extradition", "2026-02-01T09:00", "refused", dt.date(2026, 5, 31),
                    "decided"),
    }  # fmt: skip
    fr, de = w.fr, w.de
    times: dict[int, dt.datetime] = {}

    def send(peer: Any, kind: str, meta: dict[str, Any] | None, when: str) -> int:
        seq = scene.send(peer, kind, meta)
        times[seq] = at(when)
        return seq

    def clarification(asker: Any, answerer: Any, asked: str, due: str, answered: str | None) -> None:
        seq = send(asker, "clarification", {"due": due}, asked)
        if answered:
            send(answerer, "answer", {"clarification": seq}, answered)

    send(fr, "text", None, "2026-01-15T10:00")  # T1
    clarification(fr, de, "2026-02-01T10:00", "2026-02-10", "2026-02-02T10:00")  # K1: 1 day
    clarification(fr, de, "2026-02-01T10:00", "2026-02-02", "2026-02-03T10:00")  # K2: 2 days, late
    clarification(fr, de, "2026-03-01T00:00", "2026-03-10", "2026-03-05T00:00")  # K3: 4 days
    clarification(fr, de, "2026-04-01T00:00", "2026-04-05", "2026-04-11T00:00")  # K4: 10 days, late
    clarification(fr, de, "2025-12-20T00:00", "2026-01-10", "2026-01-02T12:00")  # K5: 13.5 days, asked before
    clarification(fr, de, "2026-06-20T00:00", "2026-07-01", None)  # K6: open, overdue on 15 July
    clarification(fr, de, "2026-06-25T00:00", "2026-08-01", None)  # K7: open
    clarification(fr, de, "2026-07-02T00:00", "2026-07-10", "2026-07-03T00:00")  # K8: after the period
    clarification(de, fr, "2026-05-01T00:00", "2026-05-10", "2026-05-04T00:00")  # L1: 3 days
    clarification(de, fr, "2026-05-10T00:00", "2026-05-20", None)  # L2: open, we owe it

    def assurance(steps: list[tuple[Any, str, str]], kind: str) -> int:
        first = None
        for peer, status, when in steps:
            meta = {"type": kind, "status": status} | ({"ref": first} if first else {})
            seq = send(peer, "assurance", meta, when)
            first = first or seq
        assert first is not None
        return first

    a1 = assurance([(de, "requested", "2026-03-01T00:00"), (fr, "offered", "2026-03-02T00:00"),
                    (de, "accepted", "2026-03-03T00:00")], "death_penalty")  # fmt: skip
    assurance([(de, "requested", "2026-04-01T00:00"), (fr, "offered", "2026-04-02T00:00"),
               (fr, "withdrawn", "2026-04-03T00:00")], "torture")  # fmt: skip
    assurance([(de, "requested", "2026-05-01T00:00"), (fr, "declined", "2026-05-02T00:00")], "death_penalty")
    assurance([(fr, "offered", "2026-06-01T00:00")], "fair_trial")
    assurance([(de, "requested", "2026-07-02T00:00")], "prison_conditions")
    send(fr, "text", None, "2026-06-30T23:00")  # T2
    send(de, "text", None, "2026-07-01T00:00")  # T3
    _retime(scene.thread, times)
    Thread.objects.filter(pk=scene.thread).update(created_at=at("2026-01-10T08:00"))

    accepted = Assurance.objects.get(thread_id=scene.thread, seq=a1)
    check_add_monitoring_task(de.user, accepted, "visit", dt.date(2026, 7, 10))  # overdue on 15 July
    done = check_add_monitoring_task(de.user, accepted, "report", dt.date(2026, 7, 1))
    check_update_monitoring_task(de.user, done, MonitoringTask.Status.SATISFACTORY, dt.date(2026, 6, 30))
    Deadline.objects.create(case=cases["C1"], label="Hearing", due=dt.date(2026, 7, 1))  # overdue
    Deadline.objects.create(case=cases["C1"], label="Met", due=dt.date(2026, 7, 1), met_on=dt.date(2026, 6, 1))
    Deadline.objects.create(case=cases["C4"], label="Concluded case", due=dt.date(2026, 2, 1))  # C4 withdrawn
    Deadline.objects.create(case=cases["C8"], label="Not ours", due=dt.date(2026, 2, 1))
    return StatsData(scene, cases)
