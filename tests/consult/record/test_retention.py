"""Retention purges content but keeps the chain; legal hold blocks it (DESIGN §5)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Case
from consult.actions.retention import check_lift_legal_hold, check_set_legal_hold, do_purge_expired
from consult.exceptions import Conflict, NotFound
from consult.lib.bundle import read_bundle, verify_bundle
from consult.models import Authority, Entry, Thread
from consult.models.blobs import Blob
from tests.realtime import World, make_world
from tests.record_helpers import Story, export, full_story

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def story(world: World) -> Story:
    return full_story(world)


def _close_long_ago(world: World, days: int = 400) -> None:
    Authority.objects.filter(code__in=["FR-MJ", "DE-BFJ"]).update(retention_days=365)
    Authority.objects.filter(code="DE-BFJ").update(retention_days=180)
    Case.objects.filter(pk=world.case.pk).update(
        status=Case.Status.CLOSED, updated_at=timezone.now() - timedelta(days=days)
    )


def test_purge__drops_content_keeps_a_chain_that_verifies(world: World, story: Story) -> None:
    _close_long_ago(world)
    done = do_purge_expired()
    messages = Entry.objects.filter(thread_id=story.thread_id, kind="message")
    assert done == {story.thread_id: messages.count()}
    assert all(e.purged_at and '"ct"' not in e.canonical for e in messages)
    assert not Blob.objects.filter(thread_id=story.thread_id).exists()
    purges = Entry.objects.filter(thread_id=story.thread_id, kind="purge").count()
    assert purges == messages.count()
    bundle = read_bundle(export(world, world.fr_supervisor, Story(story.thread_id, [], {}, {})))
    summary = verify_bundle(bundle)
    assert summary.purged == messages.count()
    assert f"Content removed under retention on {timezone.now().date().isoformat()}" in (bundle.html or "")
    assert do_purge_expired() == {}  # nothing twice


def test_purge__not_before_the_longer_retention_of_the_two_authorities(world: World, story: Story) -> None:
    _close_long_ago(world, days=200)  # past DE's 180 days, not FR's 365
    assert do_purge_expired() == {}
    assert not Entry.objects.filter(purged_at__isnull=False).exists()


def test_purge__never_while_open_or_kept_for_ever(world: World, story: Story) -> None:
    Authority.objects.update(retention_days=1)
    assert do_purge_expired() == {}  # the case is open
    _close_long_ago(world)
    Authority.objects.filter(code="FR-MJ").update(retention_days=None)
    assert do_purge_expired() == {}


def test_legal_hold__blocks_purge_until_lifted_and_is_recorded(world: World, story: Story) -> None:
    _close_long_ago(world)
    check_set_legal_hold(world.de_supervisor.user, str(world.case.pk), "Appeal pending")
    assert do_purge_expired() == {}
    with pytest.raises(Conflict):
        check_set_legal_hold(world.de_supervisor.user, str(world.case.pk), "again")
    check_lift_legal_hold(world.de_supervisor.user, str(world.case.pk))
    statuses = [e.canonical for e in Entry.objects.filter(thread_id=story.thread_id, kind="status").order_by("seq")]
    assert '"to":"legal_hold"' in statuses[0] and '"to":"not_on_hold"' in statuses[1]
    assert do_purge_expired() != {}


def test_legal_hold__each_party_lifts_only_its_own(world: World, story: Story) -> None:
    """A hold one authority needs cannot be lifted by the other; the case stays on hold
    while either party's hold stands, and the record shows each step and who took it."""
    import json

    case = str(world.case.pk)
    fr, de = world.fr_supervisor.user, world.de_supervisor.user
    _close_long_ago(world)
    check_set_legal_hold(de, case, "Appeal pending")
    with pytest.raises(Conflict):
        check_lift_legal_hold(fr, case)  # DE's hold is DE's to lift
    check_set_legal_hold(fr, case, "Civil claim in France")
    check_lift_legal_hold(de, case)
    assert do_purge_expired() == {}  # FR's hold still stands
    check_lift_legal_hold(fr, case)
    entries = Entry.objects.filter(thread_id=story.thread_id, kind="status").order_by("seq")
    steps = [(e.actor_user_id, json.loads(e.canonical)["body"]) for e in entries]
    assert [(actor, body["from"], body["to"]) for actor, body in steps] == [
        (de.pk, "not_on_hold", "legal_hold"),
        (fr.pk, "legal_hold", "legal_hold"),
        (de.pk, "legal_hold", "legal_hold"),
        (fr.pk, "legal_hold", "not_on_hold"),
    ]
    assert do_purge_expired() != {}


def test_legal_hold__only_supervisors_of_a_party(world: World, story: Story) -> None:
    from tests.helpers import make_user

    third = make_user(world.outsider.user.authority, "supervisor")
    for user in (world.fr.user, world.de.user, world.liaison.user, world.outsider.user, third):
        with pytest.raises(NotFound):
            check_set_legal_hold(user, str(world.case.pk), "no")
    assert Thread.objects.get(pk=story.thread_id).head_seq == Entry.objects.filter(thread_id=story.thread_id).count()


def test_legal_hold_api__set_lift_and_outsiders_404(world: World, story: Story) -> None:
    from tests.helpers import verified_client

    url = f"/api/v1/cases/{world.case.pk}/legal-hold"
    supervisor = verified_client(world.fr_supervisor.user)
    assert supervisor.post(url, {"reason": "Appeal"}, content_type="application/json").status_code == 201
    assert supervisor.post(url, {"reason": "Again"}, content_type="application/json").status_code == 409
    outsider = verified_client(world.outsider.user)
    assert outsider.delete(url).status_code == 404
    assert supervisor.delete(url).status_code == 200
    assert verified_client(world.fr.user).post(url, {"reason": "x"}, content_type="application/json").status_code == 404


def test_closing_a_case__is_recorded_and_starts_the_retention_clock(world: World, story: Story) -> None:
    from cases.actions.cases import check_update_case

    Authority.objects.update(retention_days=30)
    check_update_case(world.fr.user, Case.objects.get(pk=world.case.pk), {"status": "closed"})
    closing = Entry.objects.filter(thread_id=story.thread_id, kind="status").order_by("-seq").first()
    assert closing is not None and '"from":"open","to":"closed"' in closing.canonical
    assert do_purge_expired() == {}  # closed just now
    Entry.objects.filter(pk=closing.pk).update(at=timezone.now() - timedelta(days=31))
    assert do_purge_expired() != {}


def test_purge__deletes_files_only_once_it_commits(  # type: ignore[no-untyped-def]
    world: World, story: Story, django_capture_on_commit_callbacks
) -> None:
    """A purge that rolls back leaves every file beside its row; a committed one removes them."""
    from django.db import transaction

    from consult.actions.blobs import blob_path

    paths = [blob_path(blob.pk) for blob in Blob.objects.filter(thread_id=story.thread_id)]
    assert paths and all(path.exists() for path in paths)
    _close_long_ago(world)
    with pytest.raises(RuntimeError), transaction.atomic():
        do_purge_expired()
        raise RuntimeError("the purge's transaction fails after the files were dealt with")
    assert Blob.objects.filter(thread_id=story.thread_id).count() == len(paths)
    assert all(path.exists() for path in paths)
    with django_capture_on_commit_callbacks(execute=True):
        do_purge_expired()
        assert all(path.exists() for path in paths)  # a download until the commit still finds its file
    assert not Blob.objects.filter(thread_id=story.thread_id).exists()
    assert not any(path.exists() for path in paths)
