"""API: the server key, identities, devices, records keys, backup wraps (DESIGN §7)."""

from typing import Any

from django.http import HttpRequest
from ninja import Body, Router

from consult.actions import devices as actions
from consult.actions.keys import check_store_backup_wrap
from consult.actions.records import format_at
from consult.actions.sessions import do_bind_session
from consult.exceptions import NotFound
from consult.lib import envelopes as check
from consult.lib.access import access_user_keys
from consult.lib.server_key import server_public_key_b64u
from consult.models import Authority, BackupWrap, Device, IdentityKey, ReplacedIdentity, User

router = Router(tags=["keys"])


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _device_json(device: Device) -> dict[str, Any]:
    """A device certificate as its identity signed it (plus the signature)."""
    return {
        "v": 1,
        "user": str(device.user_id),
        "device": device.pk,
        "dh": device.dh_public,
        "sig": device.sig_public,
        "certificate": device.certificate,
    }


def _replaced_json(replaced: ReplacedIdentity) -> dict[str, str]:
    """A replaced identity key with the signature of the key that vouched for it."""
    return {
        "identity": replaced.identity_public,
        "by": replaced.successor_public,
        "sig": replaced.successor_sig,
        "replaced_at": format_at(replaced.replaced_at),
    }


@router.get("/server-key", summary="The server's record-signing public key")
def server_key(request: HttpRequest) -> dict[str, str]:
    return {"alg": "ECDSA-P256-SHA256", "key": server_public_key_b64u()}


@router.put("/identity", summary="Publish my identity and backup keys with their wrapped private keys")
def put_identity(request: HttpRequest, payload: Body[dict[str, Any]]) -> dict[str, str]:
    identity = actions.check_publish_identity(_user(request), payload, request.session.session_key)
    return {"identity": identity.identity_public, "backup": identity.backup_public}


@router.get("/identity", summary="My wrapped identity and backup keys, to restore a new device")
def get_identity(request: HttpRequest) -> dict[str, Any]:
    identity = IdentityKey.objects.filter(user=_user(request)).first()
    if identity is None:
        raise NotFound("No identity key yet.")
    return {
        "identity": identity.identity_public,
        "backup": identity.backup_public,
        "identity_wrapped": identity.identity_wrapped,
        "backup_wrapped": identity.backup_wrapped,
    }


@router.get("/users/{user_id}/keys", summary="A user's identity key, backup key and certified devices")
def user_keys(request: HttpRequest, user_id: str) -> dict[str, Any]:
    """Keys go to ``devices`` only. ``revoked`` serves to check what a device signed before its revocation
    (e.g. a membership change in an old entry): clients never wrap a key to one of those. ``replaced``
    holds the identity keys the user replaced by starting over, which certified some revoked devices."""
    user = access_user_keys(_user(request), user_id)
    identity = IdentityKey.objects.filter(user=user).first()
    devices = Device.objects.filter(user=user).order_by("created_at")
    replaced = ReplacedIdentity.objects.filter(user=user).order_by("-replaced_at", "-pk")
    return {
        "user": str(user.pk),
        "display_name": user.display_name,
        "authority": user.authority.code if user.authority else None,
        "identity": identity.identity_public if identity else None,
        "backup": identity.backup_public if identity else None,
        "devices": [_device_json(d) for d in devices if d.revoked_at is None],
        "revoked": [
            {**_device_json(d), "revoked_at": format_at(d.revoked_at)} for d in devices if d.revoked_at is not None
        ],
        # Newest first: each vouched for by the key named in "by", the first by "identity".
        "replaced": [_replaced_json(r) for r in replaced],
    }


@router.post("/devices", response={201: dict[str, Any]}, summary="Register this device with its certificate")
def register_device(request: HttpRequest, payload: Body[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    device = actions.check_register_device(_user(request), payload)
    do_bind_session(request.session.session_key, device)
    return 201, _device_json(device)


@router.get("/devices", summary="My devices, revoked ones included")
def list_devices(request: HttpRequest) -> list[dict[str, Any]]:
    devices = Device.objects.filter(user=_user(request)).order_by("created_at")
    return [
        {
            **_device_json(d),
            "created_at": d.created_at.isoformat(),
            "revoked_at": d.revoked_at and d.revoked_at.isoformat(),
        }
        for d in devices
    ]


@router.delete("/devices/{device_id}", response={204: None}, summary="Revoke one of my devices")
def revoke_device(request: HttpRequest, device_id: str) -> tuple[int, None]:
    actions.check_revoke_device(_user(request), device_id, request.session.session_key)
    return 204, None


def _authority(code: str) -> Authority:
    authority = Authority.objects.filter(code=code.upper()).first()
    if authority is None:
        raise NotFound
    return authority


@router.get("/authorities/{code}/records-key", summary="An authority's records public key and certificate")
def get_records_key(request: HttpRequest, code: str) -> dict[str, Any]:
    authority = _authority(code)
    key = actions.current_records_key(authority.pk)
    if key is None:
        raise NotFound("This authority has no records key yet.")
    body: dict[str, Any] = {
        "v": 1,
        "authority": authority.code,
        "id": f"records:{authority.code}",
        "dh": key.dh_public,
        "certified_by": str(key.certified_by_id),
        "certificate": key.certificate,
        "created_at": key.created_at.isoformat(),
    }
    user = _user(request)
    if user.role == User.Role.SUPERVISOR and user.authority_id == authority.pk:
        body["wrapped"] = key.wrapped  # only the authority's supervisors get the wrapped private key
    return body


@router.put("/authorities/{code}/records-key", summary="Publish or rotate the records key (supervisors)")
def put_records_key(request: HttpRequest, code: str, payload: Body[dict[str, Any]]) -> dict[str, Any]:
    key = actions.check_publish_records_key(_user(request), _authority(code), payload)
    return {"authority": key.authority.code, "dh": key.dh_public, "certificate": key.certificate}


@router.post("/key-backup", response={201: dict[str, Any]}, summary="Store my epoch-key wrap to my backup key")
def post_key_backup(request: HttpRequest, payload: Body[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    wrap = check_store_backup_wrap(_user(request), payload)
    return 201, {"thread": str(wrap.thread_id), "epoch": wrap.epoch}


@router.get("/key-backup", summary="My epoch-key wraps to my backup key, for a thread")
def get_key_backup(request: HttpRequest, thread: str) -> list[dict[str, Any]]:
    check.uuid_text(thread, "thread")
    wraps = BackupWrap.objects.filter(user=_user(request), thread_id=thread).order_by("epoch")
    return [{"thread": thread, "epoch": w.epoch, "eph": w.eph, "iv": w.iv, "ct": w.ct} for w in wraps]
