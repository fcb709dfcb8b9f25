"""Assurances move only by signed items, in the right order and by the right side (issue 6 item 1)."""

import pytest

from cases.actions.workflow import TRANSITIONS
from cases.models import Assurance, AssuranceEvent, Item
from consult.exceptions import BadInput, Conflict, Forbidden
from tests.cases.workflow import Scene, make_scene, snapshot

pytestmark = pytest.mark.django_db

STATUSES = ("requested", "offered", "accepted", "declined", "withdrawn")


@pytest.fixture
def scene() -> Scene:
    return make_scene()


def assure(scene: Scene, who: str, status: str, ref: int | None = None, type_: str = "death_penalty") -> int:
    meta = {"type": type_, "status": status} | ({"ref": ref} if ref else {})
    return scene.send(getattr(scene.world, who), "assurance", meta)


def test_assurance__requested_offered_accepted_with_dated_history(scene: Scene) -> None:
    """FR asks, DE gives, FR accepts: one assurance, three dated steps, each with its side and user."""
    first = assure(scene, "fr", "requested")
    offer = assure(scene, "de", "offered", ref=first)
    assure(scene, "fr", "accepted", ref=offer)  # any item of the assurance may be named
    assurance = Assurance.objects.get()
    assert (assurance.status, assurance.type, assurance.seq) == ("accepted", "death_penalty", first)
    assert (assurance.requesting_authority.code, assurance.requested_authority.code) == ("FR-MJ", "DE-BFJ")
    steps = list(AssuranceEvent.objects.order_by("at", "pk").values_list("status", "authority__code", "user"))
    assert steps == [
        ("requested", "FR-MJ", scene.world.fr.user.pk),
        ("offered", "DE-BFJ", scene.world.de.user.pk),
        ("accepted", "FR-MJ", scene.world.fr.user.pk),
    ]
    assert all(e.at == e.item.entry.at for e in AssuranceEvent.objects.select_related("item__entry"))


def test_assurance__unsolicited_offer_makes_the_other_side_the_requesting_side(scene: Scene) -> None:
    offer = assure(scene, "fr", "offered", type_="speciality")
    assurance = Assurance.objects.get()
    assert (assurance.requesting_authority.code, assurance.requested_authority.code) == ("DE-BFJ", "FR-MJ")
    with pytest.raises(Forbidden):
        assure(scene, "fr", "accepted", ref=offer, type_="speciality")
    assure(scene, "de", "accepted", ref=offer, type_="speciality")
    assert Assurance.objects.get().status == "accepted"


def _reach(scene: Scene, state: str) -> int:
    """An assurance FR asked for, brought to ``state``; returns its first seq."""
    first = assure(scene, "fr", "requested")
    path = {
        "requested": [],
        "offered": [("de", "offered")],
        "accepted": [("de", "offered"), ("fr", "accepted")],
        "declined": [("de", "declined")],
        "withdrawn": [("fr", "withdrawn")],
    }[state]
    for who, status in path:
        assure(scene, who, status, ref=first)
    assert Assurance.objects.get().status == state
    return first


@pytest.mark.parametrize("target", STATUSES)
@pytest.mark.parametrize("current", STATUSES)
def test_assurance__every_transition_by_every_side(scene: Scene, current: str, target: str) -> None:
    """Listed moves succeed for their side only (the other: forbidden); others conflict; refusals change nothing."""
    first = _reach(scene, current)
    mover = TRANSITIONS.get((current, target))
    giver, receiver = "de", "fr"  # FR asked
    sides = [giver, receiver] if mover is None else [receiver if mover == "giver" else giver]
    for who in sides:
        before = snapshot()
        with pytest.raises(Conflict if mover is None else Forbidden):
            assure(scene, who, target, ref=first)
        assert snapshot() == before, (current, target, who)
    if mover is not None:
        assure(scene, giver if mover == "giver" else receiver, target, ref=first)
        assert Assurance.objects.get().status == target


def test_assurance__only_the_requested_side_offers(scene: Scene) -> None:
    first = assure(scene, "fr", "requested")
    before = snapshot()
    with pytest.raises(Forbidden):
        assure(scene, "fr", "offered", ref=first)
    assert snapshot() == before


def test_assurance__only_the_requesting_side_accepts(scene: Scene) -> None:
    first = _reach(scene, "offered")
    before = snapshot()
    with pytest.raises(Forbidden):
        assure(scene, "de", "accepted", ref=first)
    assert snapshot() == before


def test_assurance__a_withdrawn_assurance_cannot_be_accepted(scene: Scene) -> None:
    first = _reach(scene, "offered")
    assure(scene, "de", "withdrawn", ref=first)
    before = snapshot()
    with pytest.raises(Conflict):
        assure(scene, "fr", "accepted", ref=first)
    assert snapshot() == before
    assert Assurance.objects.get().status == "withdrawn"


BAD_MOVES = {
    "a new item that is neither requested nor offered": ({"status": "accepted"}, None),
    "ref to a text message": ({"status": "offered"}, "text"),
    "ref to a seq that does not exist": ({"status": "offered"}, 999),
    "type changed on the way": ({"status": "offered", "type": "torture"}, "first"),
}


@pytest.mark.parametrize(("meta", "ref"), BAD_MOVES.values(), ids=BAD_MOVES.keys())
def test_assurance__bad_pointers_are_bad_input_and_change_nothing(scene: Scene, meta: dict, ref: object) -> None:
    first = assure(scene, "fr", "requested")
    text = scene.send(scene.world.de, "text")
    pointer = {None: None, "text": text, "first": first}.get(ref, ref)  # type: ignore[call-overload]
    full = {"type": "death_penalty", **meta} | ({"ref": pointer} if pointer else {})
    before = snapshot()
    with pytest.raises(BadInput):
        scene.send(scene.world.de, "assurance", full)
    assert snapshot() == before


def test_assurance__ref_into_another_thread_is_bad_input(scene: Scene) -> None:
    first = assure(scene, "fr", "requested")
    other = make_scene(scene.world)
    before = snapshot()
    with pytest.raises(BadInput):
        other.send(scene.world.de, "assurance", {"type": "death_penalty", "status": "offered", "ref": first})
    assert snapshot() == before


def test_assurance__liaison_officers_do_not_move_assurances(scene: Scene) -> None:
    liaison = scene.add_liaison()
    before = snapshot()
    with pytest.raises(Forbidden):
        scene.send(liaison, "assurance", {"type": "torture", "status": "requested"})
    assert snapshot() == before
    scene.send(liaison, "text")  # but they still post
    assert Item.objects.filter(sender=liaison.user, side="").count() == 1
