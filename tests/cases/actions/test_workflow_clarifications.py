"""Clarifications close only with an answer that names them; handling codes are stored per item (items 2, 4)."""

import datetime as dt

import pytest

from cases.actions.assurances import check_set_thread_handling
from cases.models import Clarification, HandlingCode, Item
from consult.actions.messages import check_send_message
from consult.client import make_payload, seal_envelope
from consult.exceptions import BadInput, Conflict, Forbidden
from consult.lib.envelopes import HANDLING_CODES, check_meta
from consult.models import Thread
from tests.cases.workflow import Scene, make_scene, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene() -> Scene:
    return make_scene()


def ask(scene: Scene, due: str = "2026-12-01") -> int:
    return scene.send(scene.world.fr, "clarification", {"due": due}, text="Is the offence time-barred?")


def test_clarification__the_other_side_answers_and_the_answer_time_is_kept(scene: Scene) -> None:
    asked = ask(scene)
    row = Clarification.objects.get()
    assert (row.asked_by.code, row.answer_by.code, row.due, row.answered_at) == (
        "FR-MJ", "DE-BFJ", dt.date(2026, 12, 1), None
    )  # fmt: skip
    answer = scene.send(scene.world.de, "answer", {"clarification": asked}, reply_to=asked)
    row.refresh_from_db()
    assert row.answer is not None and row.answer.seq == answer
    assert row.answered_at == row.answer.entry.at


def test_clarification__an_answer_that_does_not_name_it_leaves_it_open(scene: Scene) -> None:
    """``reply_to`` is encrypted: only ``meta.clarification`` closes a request."""
    asked = ask(scene)
    scene.send(scene.world.de, "answer", {}, reply_to=asked)
    scene.send(scene.world.de, "text", reply_to=asked)
    assert Clarification.objects.get().answered_at is None


def test_clarification__the_asking_side_cannot_close_its_own_request(scene: Scene) -> None:
    asked = ask(scene)
    before = snapshot()
    with pytest.raises(Forbidden):
        scene.send(scene.world.fr, "answer", {"clarification": asked})
    assert snapshot() == before


def test_clarification__answered_once_only(scene: Scene) -> None:
    asked = ask(scene)
    scene.send(scene.world.de, "answer", {"clarification": asked})
    before = snapshot()
    with pytest.raises(Conflict):
        scene.send(scene.world.de, "answer", {"clarification": asked})
    assert snapshot() == before


@pytest.mark.parametrize("target", ["text", "missing", "answer"])
def test_clarification__an_answer_must_name_a_clarification_of_this_thread(scene: Scene, target: str) -> None:
    asked = ask(scene)
    text = scene.send(scene.world.fr, "text")
    answer = scene.send(scene.world.de, "answer", {})
    seq = {"text": text, "missing": 10_000, "answer": answer}[target]
    before = snapshot()
    with pytest.raises(BadInput):
        scene.send(scene.world.de, "answer", {"clarification": seq})
    assert snapshot() == before
    assert Clarification.objects.get(seq=asked).answered_at is None


def test_clarification__liaison_officers_neither_ask_nor_close(scene: Scene) -> None:
    asked = ask(scene)
    liaison = scene.add_liaison()
    before = snapshot()
    for kind, meta in (("clarification", {"due": "2026-12-24"}), ("answer", {"clarification": asked})):
        with pytest.raises(Forbidden):
            scene.send(liaison, kind, meta)
    assert snapshot() == before


def test_item__retry_with_the_same_client_id_records_once(scene: Scene) -> None:
    thread = Thread.objects.get(pk=scene.thread)
    envelope = seal_envelope(
        scene.world.fr.device, scene.key, thread=scene.thread, epoch=thread.epoch, kind="clarification",
        payload=make_payload("?"), meta={"due": "2026-12-01"},
    )  # fmt: skip
    device = scene.world.fr.server_device()
    first = check_send_message(scene.world.fr.user, device, scene.thread, envelope)
    again = check_send_message(scene.world.fr.user, device, scene.thread, envelope)
    assert first == again
    assert Item.objects.filter(kind="clarification").count() == Clarification.objects.count() == 1


def test_handling__explicit_code_then_thread_default_then_none(scene: Scene) -> None:
    """An item's own code wins; items without one take the thread default in force when they were sent."""
    thread = Thread.objects.select_related("case").get(pk=scene.thread)
    own = scene.send(scene.world.fr, "document", {"doc_type": "warrant", "handling": "no_onward_transmission"})
    check_set_thread_handling(scene.world.de.user, thread, "information_only")
    inherited = scene.send(scene.world.de, "text")
    explicit = scene.send(scene.world.de, "note", {"handling": "no_judicial_disclosure"})
    check_set_thread_handling(scene.world.fr.user, thread, None)
    plain = scene.send(scene.world.fr, "text")
    stored = {i.seq: (i.handling, i.handling_inherited) for i in Item.objects.filter(thread=thread)}
    assert stored[own] == ("no_onward_transmission", False)
    assert stored[inherited] == ("information_only", True)
    assert stored[explicit] == ("no_judicial_disclosure", False)
    assert stored[plain] == ("", False)


def test_handling__liaison_cannot_set_a_thread_default_and_codes_are_checked(scene: Scene) -> None:
    liaison = scene.add_liaison()
    thread = Thread.objects.select_related("case").get(pk=scene.thread)
    with pytest.raises(Forbidden):
        check_set_thread_handling(liaison.user, thread, "information_only")
    with pytest.raises(BadInput):
        check_set_thread_handling(scene.world.fr.user, thread, "top_secret")
    before = snapshot()
    with pytest.raises(BadInput):
        scene.send(scene.world.fr, "text", {"handling": "top_secret"})
    assert snapshot() == before


def test_handling__server_codes_match_the_model_choices() -> None:
    assert set(HandlingCode.values) == HANDLING_CODES


META = {
    "answer names a clarification": ("answer", {"clarification": 3}, True),
    "answer with a handling code": ("answer", {"clarification": 3, "handling": "information_only"}, True),
    "assurance with ref": ("assurance", {"type": "torture", "status": "offered", "ref": 2}, True),
    "text with a handling code": ("text", {"handling": "no_onward_transmission"}, True),
    "clarification pointer as text": ("answer", {"clarification": "3"}, False),
    "clarification pointer zero": ("answer", {"clarification": 0}, False),
    "clarification pointer boolean": ("answer", {"clarification": True}, False),
    "ref negative": ("assurance", {"type": "torture", "status": "offered", "ref": -1}, False),
    "ref on a document": ("document", {"doc_type": "warrant", "ref": 1}, False),
    "clarification on a text": ("text", {"clarification": 1}, False),
    "unknown handling code": ("note", {"handling": "secret"}, False),
    "handling code as a list": ("note", {"handling": ["information_only"]}, False),
    "assurance type as a list": ("assurance", {"type": ["torture"], "status": "offered"}, False),
    "still no unknown fields": ("text", {"person": "x"}, False),
}


@pytest.mark.parametrize(("kind", "meta", "ok"), META.values(), ids=META.keys())
def test_check_meta__optional_workflow_fields(kind: str, meta: dict, ok: bool) -> None:
    """docs/protocol.md "Workflow metadata": optional fields are typed; anything else is still refused."""
    if ok:
        assert check_meta(kind, meta) == meta
    else:
        with pytest.raises(BadInput):
            check_meta(kind, meta)


def test_item__month_is_the_utc_month_of_acceptance(scene: Scene) -> None:
    """Volume statistics group by ``Item.month``: the first day of the entry's month in UTC."""
    from cases.actions.workflow import month_of

    seq = scene.send(scene.world.fr, "text")
    item = Item.objects.select_related("entry").get(seq=seq, thread_id=scene.thread)
    assert item.month == item.entry.at.date().replace(day=1)
    paris = dt.timezone(dt.timedelta(hours=1))
    assert month_of(dt.datetime(2026, 2, 1, 0, 30, tzinfo=paris)) == dt.date(2026, 1, 1)  # 31 Jan 23:30 UTC
    assert month_of(dt.datetime(2026, 2, 1, 1, 0, tzinfo=paris)) == dt.date(2026, 2, 1)
