"""Over the socket, a refused workflow move is an error frame naming the envelope, and nothing is stored."""

import pytest
from asgiref.sync import sync_to_async

from cases.models import Assurance
from consult.client import make_payload, seal_envelope
from consult.models import Thread
from tests.cases.workflow import Scene, make_scene, snapshot
from tests.consult.test_consumer import connect, until

pytestmark = pytest.mark.django_db(transaction=True)


def _assurance(scene: Scene, status: str, ref: int | None) -> dict:
    meta = {"type": "torture", "status": status} | ({"ref": ref} if ref else {})
    epoch = Thread.objects.get(pk=scene.thread).epoch
    return seal_envelope(scene.world.fr.device, scene.key, thread=scene.thread, epoch=epoch, kind="assurance",
                         payload=make_payload("We give the assurance."), meta=meta)  # fmt: skip


async def test_socket__refused_moves_get_forbidden_or_conflict() -> None:
    scene = await sync_to_async(make_scene)()
    first = await sync_to_async(scene.send)(scene.world.fr, "assurance", {"type": "torture", "status": "requested"})
    ws = await connect(scene.world.fr)
    before = await sync_to_async(snapshot)()
    for status, code in (("offered", "forbidden"), ("declined", "forbidden"), ("accepted", "conflict")):
        envelope = await sync_to_async(_assurance)(scene, status, first)
        await ws.send_json_to({"type": "send", "thread": scene.thread, "envelope": envelope})
        error = await until(ws, "error")
        assert (error["code"], error["ref"]) == (code, envelope["header"]["client_id"]), status
    assert await sync_to_async(snapshot)() == before
    assert await sync_to_async(lambda: Assurance.objects.get().status)() == "requested"
    await ws.disconnect()
