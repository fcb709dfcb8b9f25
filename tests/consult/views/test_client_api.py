"""Lists the browser client needs: threads, my devices, people to invite."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consult.actions.threads import check_membership_change
from consult.client import build_membership_change
from tests.helpers import verified_client
from tests.realtime import World, make_world, open_thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return make_world()


def test_threads__by_case_for_those_who_see_the_case(world: World) -> None:
    """Officers who see the case list its threads, with whether they are members; outsiders get 404."""
    thread, _ = open_thread(world.fr, world.case, subject="Dual criminality")
    rows = verified_client(world.de.user).get(f"/api/v1/threads?case={world.case.pk}").json()
    assert [(r["id"], r["subject"], r["member"]) for r in rows] == [(thread, "Dual criminality", False)]
    mine = verified_client(world.fr.user).get(f"/api/v1/threads?case={world.case.pk}").json()
    assert mine[0]["member"] is True and mine[0]["epoch"] == 1
    assert verified_client(world.outsider.user).get(f"/api/v1/threads?case={world.case.pk}").status_code == 404


def test_threads__without_case_lists_only_my_memberships(world: World) -> None:
    """A liaison never sees the case list, but sees the threads they are invited to."""
    thread, _ = open_thread(world.fr, world.case)
    assert [r["id"] for r in verified_client(world.fr.user).get("/api/v1/threads").json()] == [thread]
    assert verified_client(world.liaison.user).get("/api/v1/threads").json() == []


def test_devices__lists_mine_with_revocation(world: World) -> None:
    second = world.fr.add_device()
    client = verified_client(world.fr.user)
    assert client.delete(f"/api/v1/devices/{second.id}").status_code == 204
    rows = client.get("/api/v1/devices").json()
    assert [(r["device"], r["revoked_at"] is not None) for r in rows] == [
        (world.fr.device.id, False),
        (second.id, True),
    ]
    assert rows[0]["certificate"]


def test_candidates__party_staff_and_liaisons_but_not_members_or_third_parties(world: World) -> None:
    thread, _ = open_thread(world.fr, world.case)
    rows = verified_client(world.fr.user).get(f"/api/v1/threads/{thread}/candidates").json()
    users = {r["user"] for r in rows}
    assert str(world.de.user.pk) in users and str(world.liaison.user.pk) in users
    assert str(world.fr_supervisor.user.pk) in users
    assert str(world.fr.user.pk) not in users and str(world.outsider.user.pk) not in users
    assert verified_client(world.de.user).get(f"/api/v1/threads/{thread}/candidates").status_code == 404


def test_candidates__not_for_a_liaison_who_cannot_invite(world: World) -> None:
    """A liaison member learns nothing of who else could be invited: 403, and no invite form on the page."""
    thread, _ = open_thread(world.fr, world.case)
    expires = (timezone.now() + timedelta(days=1)).isoformat()
    change = build_membership_change(
        world.fr.device, thread=thread, action="add", user=str(world.liaison.user.pk), expires=expires
    )
    check_membership_change(world.fr.user, world.fr.server_device(), thread, change)
    liaison = verified_client(world.liaison.user)
    assert liaison.get(f"/api/v1/threads/{thread}/candidates").status_code == 403
    assert 'id="invite"' not in liaison.get(f"/threads/{thread}/").content.decode()
    assert 'id="invite"' in verified_client(world.fr.user).get(f"/threads/{thread}/").content.decode()
