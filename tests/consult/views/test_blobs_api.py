"""Encrypted file blobs over HTTP: upload by members, size limit, hash check, download (DESIGN §7)."""

import base64
import hashlib
import os
from datetime import datetime
from pathlib import Path

import pytest

from consult.models import Blob
from tests.helpers import verified_client
from tests.realtime import World, make_world, open_thread

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def blob_dir(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.COMITY_BLOB_DIR = tmp_path / "blobs"
    return tmp_path / "blobs"


def b64u_sha256(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def upload(client, thread: str, data: bytes, sha: str | None = None):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/blobs?thread={thread}&sha256={sha or b64u_sha256(data)}",
        data=data,
        content_type="application/octet-stream",
    )


@pytest.fixture
def world() -> World:
    return make_world()


def test_upload__member_stores_and_downloads_the_bytes_unchanged(world: World, blob_dir: Path) -> None:
    """A member uploads ciphertext; the same bytes come back; the hash and size are recorded."""
    thread, _ = open_thread(world.fr, world.case)
    data = os.urandom(100_000)
    response = upload(verified_client(world.fr.user), thread, data)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["size"] == len(data) and body["sha256"] == b64u_sha256(data)
    blob = Blob.objects.get(pk=body["id"])
    assert blob.uploaded_by == world.fr.user and str(blob.thread_id) == thread
    download = verified_client(world.fr.user).get(f"/api/v1/blobs/{body['id']}")
    assert download.status_code == 200
    assert download.content == data
    assert download["Content-Type"] == "application/octet-stream"
    assert [p.name for p in blob_dir.iterdir()] == [blob.pk.hex]


def test_upload__outsiders_and_non_members_get_404(world: World, blob_dir: Path) -> None:
    """Neither a third authority nor a colleague who is not a member may upload or download."""
    thread, _ = open_thread(world.fr, world.case)
    data = os.urandom(1000)
    for stranger in (world.outsider.user, world.de.user, world.liaison.user):
        assert upload(verified_client(stranger), thread, data).status_code == 404
    blob_id = upload(verified_client(world.fr.user), thread, data).json()["id"]
    for stranger in (world.outsider.user, world.de.user):
        response = verified_client(stranger).get(f"/api/v1/blobs/{blob_id}")
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    assert verified_client(world.fr.user).get("/api/v1/blobs/not-a-uuid").status_code == 404


def test_upload__refuses_a_wrong_hash_and_leaves_nothing(world: World, blob_dir: Path) -> None:
    thread, _ = open_thread(world.fr, world.case)
    data = os.urandom(1000)
    response = upload(verified_client(world.fr.user), thread, data, sha=b64u_sha256(b"other"))
    assert response.status_code == 400
    assert "sha256" in response.json()["fields"]
    assert not Blob.objects.exists()
    assert list(blob_dir.iterdir()) == []


def test_upload__refuses_bad_hash_encoding_and_empty_body(world: World) -> None:
    thread, _ = open_thread(world.fr, world.case)
    client = verified_client(world.fr.user)
    assert upload(client, thread, b"x" * 100, sha="not base64!").status_code == 400
    assert upload(client, thread, b"").status_code == 400
    assert not Blob.objects.exists()


def test_upload__refuses_over_the_size_limit(world: World, settings, blob_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Over COMITY_MAX_BLOB_BYTES is ``too_large`` (413), and nothing is kept."""
    settings.COMITY_MAX_BLOB_BYTES = 4096
    thread, _ = open_thread(world.fr, world.case)
    client = verified_client(world.fr.user)
    assert upload(client, thread, os.urandom(4096)).status_code == 201
    response = upload(client, thread, os.urandom(4097))
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert Blob.objects.count() == 1
    assert len(list(blob_dir.iterdir())) == 1


def test_upload__former_member_loses_access(world: World) -> None:
    """A member who left can no longer download the thread's files."""
    from consult.actions.threads import check_membership_change
    from consult.client import build_membership_change

    thread, _ = open_thread(world.fr, world.case)
    change = build_membership_change(world.fr.device, thread=thread, action="add", user=str(world.de.user.pk))
    check_membership_change(world.fr.user, world.fr.server_device(), thread, change)
    blob_id = upload(verified_client(world.de.user), thread, os.urandom(500)).json()["id"]
    assert verified_client(world.de.user).get(f"/api/v1/blobs/{blob_id}").status_code == 200
    leave = build_membership_change(world.de.device, thread=thread, action="leave", user=str(world.de.user.pk))
    check_membership_change(world.de.user, world.de.server_device(), thread, leave)
    assert verified_client(world.de.user).get(f"/api/v1/blobs/{blob_id}").status_code == 404


def test_download__supervisors_of_either_party_may_fetch_for_export(world: World) -> None:
    """The exporting supervisor's browser fetches every blob of the thread: supervisors of
    the case's two authorities may download (as they may export), nobody else outside it."""
    from consult.models import User
    from tests.helpers import make_user

    thread, _ = open_thread(world.fr, world.case)
    data = os.urandom(2000)
    blob_id = upload(verified_client(world.fr.user), thread, data).json()["id"]
    for supervisor in (world.fr_supervisor.user, world.de_supervisor.user):
        response = verified_client(supervisor).get(f"/api/v1/blobs/{blob_id}")
        assert response.status_code == 200 and response.content == data
    assert world.outsider.user.authority is not None
    third_supervisor = make_user(world.outsider.user.authority, User.Role.SUPERVISOR)
    fr_colleague = make_user(world.fr.user.authority, User.Role.OFFICER)
    for stranger in (third_supervisor, fr_colleague, world.de.user, world.liaison.user, world.outsider.user):
        response = verified_client(stranger).get(f"/api/v1/blobs/{blob_id}")
        assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_download__a_file_gone_from_disk_is_not_found(world: World, blob_dir: Path) -> None:
    """A download that finds the blob's row but not its file (a retention purge committed
    between the two reads) answers 404, as after the purge, not a server error."""
    thread, _ = open_thread(world.fr, world.case)
    blob_id = upload(verified_client(world.fr.user), thread, os.urandom(500)).json()["id"]
    for path in blob_dir.iterdir():
        path.unlink()
    response = verified_client(world.fr.user).get(f"/api/v1/blobs/{blob_id}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_sweep__removes_stray_files_a_day_old_and_nothing_else(world: World, blob_dir: Path) -> None:
    """Uploads cut off midway and files whose row never committed go after a day;
    stored blobs, uploads in progress and files it does not know stay."""
    import uuid

    from consult.actions.blobs import do_sweep_stray_files

    thread, _ = open_thread(world.fr, world.case)
    kept = upload(verified_client(world.fr.user), thread, os.urandom(500)).json()["id"]
    day_old = datetime.now().timestamp() - 25 * 3600
    names = {
        "stored": uuid.UUID(kept).hex,
        "interrupted": ".upload-old",
        "in progress": ".upload-new",
        "never committed": uuid.uuid4().hex,
        "just written": uuid.uuid4().hex,
        "not ours": "README",
    }
    for what, name in names.items():
        path = blob_dir / name
        if not path.exists():
            path.write_bytes(b"x" * 40)
        if what != "in progress" and what != "just written":
            os.utime(path, (day_old, day_old))
    assert do_sweep_stray_files() == 2
    left = {path.name for path in blob_dir.iterdir()}
    assert left == {names["stored"], names["in progress"], names["just written"], names["not ours"]}
    download = verified_client(world.fr.user).get(f"/api/v1/blobs/{kept}")
    assert download.status_code == 200


def test_sweep__runs_with_the_daily_purge(blob_dir: Path) -> None:
    import io

    from django.core.management import call_command

    blob_dir.mkdir(parents=True, exist_ok=True)
    stray = blob_dir / ".upload-cut-off"
    stray.write_bytes(b"x")
    os.utime(stray, (0, 0))
    out = io.StringIO()
    call_command("purge_expired", stdout=out)
    assert "Removed 1 stray files." in out.getvalue() and not stray.exists()
