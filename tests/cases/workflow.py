"""Scenes for workflow tests: a thread between the two parties and a way to send items into it."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from cases.models import Assurance, AssuranceCheck, AssuranceEvent, Clarification, Item, MonitoringTask
from consult.actions.messages import check_send_message
from consult.actions.threads import check_membership_change
from consult.client import build_membership_change, make_payload, seal_envelope
from consult.models import Entry, Thread
from tests.realtime import Peer, World, make_world, open_thread, rotate


@dataclass
class Scene:
    """FR-MJ (requesting) and DE-BFJ (requested) officers in one thread of one case."""

    world: World
    thread: str
    key: bytes

    def send(self, peer: Peer, kind: str = "text", meta: dict[str, Any] | None = None, text: str = "x",
             reply_to: int | None = None) -> int:  # fmt: skip
        """Send one item as ``peer``'s browser would; return its seq."""
        epoch = Thread.objects.get(pk=self.thread).epoch
        envelope = seal_envelope(
            peer.device, self.key, thread=self.thread, epoch=epoch, kind=kind,  # type: ignore[arg-type]
            payload=make_payload(text, reply_to=reply_to), meta=meta or {},
        )  # fmt: skip
        return check_send_message(peer.user, peer.server_device(), self.thread, envelope).seq

    def add(self, peer: Peer, expires: str | None = None) -> None:
        change = build_membership_change(
            self.world.fr.device, thread=self.thread, action="add", user=str(peer.user.pk), expires=expires
        )
        check_membership_change(self.world.fr.user, self.world.fr.server_device(), self.thread, change)
        self.key = rotate(self.world.fr, self.thread)

    def add_liaison(self) -> Peer:
        self.add(self.world.liaison, (timezone.now() + dt.timedelta(days=1)).isoformat())
        return self.world.liaison


def make_scene(world: World | None = None) -> Scene:
    world = world or make_world()
    thread, key = open_thread(world.fr, world.case)
    scene = Scene(world, thread, key)
    scene.add(world.de)
    return scene


def snapshot() -> tuple[Any, ...]:
    """Everything a refused item must leave as it was: the record and the register."""
    return (
        Entry.objects.count(),
        list(Thread.objects.order_by("pk").values_list("pk", "head_seq", "epoch_messages")),
        list(Item.objects.order_by("pk").values_list("pk", "seq", "kind", "handling")),
        list(Clarification.objects.order_by("pk").values_list("pk", "answer_id", "answered_at")),
        list(Assurance.objects.order_by("pk").values_list("pk", "status", "updated_at")),
        AssuranceEvent.objects.count(),
        list(AssuranceCheck.objects.order_by("pk").values_list("pk", "ticked", "at")),
        list(MonitoringTask.objects.order_by("pk").values_list("pk", "status", "done_on")),
    )
