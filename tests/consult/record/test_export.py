"""Exporting a thread's record, verifying it offline, opening it with the records key (DESIGN §5)."""

import io
import json
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import CommandError, call_command

from consult.actions.exports import check_export
from consult.exceptions import InvalidCredentials, NotFound
from consult.lib.bundle import read_bundle, verify_bundle
from tests.helpers import add_totp, make_user, verified_client
from tests.realtime import World, make_peer, make_world, open_thread
from tests.record_helpers import Story, build, export, export_data, full_story

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def story(world: World) -> Story:
    return full_story(world)


def test_export__plaintext_bundle_verifies_and_holds_every_message_and_file(world: World, story: Story) -> None:
    bundle = read_bundle(export(world, world.fr_supervisor, story))
    summary = verify_bundle(bundle)
    texts = [i["payload"]["text"] for i in bundle.items if i.get("payload")]
    assert texts == story.plaintexts
    by_name = {path.rsplit("/", 1)[1]: content for path, content in bundle.files.items()}
    assert by_name == story.files
    kinds = [i["entry"]["kind"] for i in bundle.items]
    assert kinds[-1] == "export" and "receipt" in kinds and kinds.count("keys") == 4
    assert summary.acknowledgements and summary.files == 2
    assert bundle.html is not None and "<script" not in bundle.html.lower()
    assert "<strong>at least one year</strong>" in bundle.html


def test_record_open__ciphertext_bundle_decrypts_byte_for_byte(world: World, story: Story, tmp_path: Path) -> None:
    data = export(world, world.de_supervisor, story, plaintext=False)
    bundle = read_bundle(data)
    assert all("payload" not in i for i in bundle.items)
    assert not any(text.encode() in data for text in story.plaintexts)
    source, key_file = tmp_path / "record.zip", tmp_path / "records.pem"
    source.write_bytes(data)
    key_file.write_bytes(
        world.records["DE-BFJ"].private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    out = io.StringIO()
    call_command("record", "open", str(source), "--key", str(key_file), "--out", str(tmp_path / "open"), stdout=out)
    html = (tmp_path / "open" / "record.html").read_text()
    for text in ("at least one year", "article 7", "five", "Liaison: the hearing is on Monday."):
        assert text in html
    written = {p.name: p.read_bytes() for p in (tmp_path / "open" / "files").rglob("*") if p.is_file()}
    assert written == story.files
    assert (tmp_path / "open" / "record.pdf").read_bytes().startswith(b"%PDF")


def test_record_verify__command_prints_summary_and_exits_zero(world: World, story: Story, tmp_path: Path) -> None:
    source = tmp_path / "record.zip"
    source.write_bytes(export(world, world.fr_supervisor, story))
    out = io.StringIO()
    call_command("record", "verify", str(source), stdout=out)
    text = out.getvalue()
    assert "OK: the record verifies." in text and "Acknowledgements:" in text and "up to" in text


def test_export__both_authorities_agree_on_every_entry_hash(world: World, story: Story) -> None:
    french = read_bundle(export(world, world.fr_supervisor, story))
    german = read_bundle(export(world, world.de_supervisor, story))
    shared = len(french.items)
    assert [i["hash"] for i in french.items] == [i["hash"] for i in german.items[:shared]]
    assert german.items[shared]["entry"]["kind"] == "export"


def test_export__only_supervisors_of_a_party_and_with_a_fresh_code(world: World, story: Story) -> None:
    from django.test import RequestFactory

    request = RequestFactory().post("/")
    third = make_peer(make_user(world.outsider.user.authority, "supervisor"))
    for outsider in (world.fr, world.de, world.liaison, world.outsider, third):
        with pytest.raises(NotFound):
            check_export(request, outsider.user, story.thread_id, "000000")
    add_totp(world.fr_supervisor.user)
    with pytest.raises(InvalidCredentials):
        check_export(request, world.fr_supervisor.user, story.thread_id, "000000")


def test_export_api__outsider_404_identical_to_missing_thread(world: World, story: Story) -> None:
    import uuid

    client = verified_client(world.fr.user)
    hidden = client.post(f"/api/v1/threads/{story.thread_id}/record", {"code": "1"}, content_type="application/json")
    missing = client.post(f"/api/v1/threads/{uuid.uuid4()}/record", {"code": "1"}, content_type="application/json")
    assert hidden.status_code == missing.status_code == 404 and hidden.content == missing.content


# --- tampering -------------------------------------------------------------------------


def _rezip(data: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    source = zipfile.ZipFile(io.BytesIO(data))
    files = {name: source.read(name) for name in source.namelist()}
    edit(files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, content in files.items():
            target.writestr(name, content)
    return out.getvalue()


def _lines(files: dict[str, bytes]) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in files["entries.jsonl"].decode().splitlines()]


def _put_lines(files: dict[str, bytes], lines: list[dict]) -> None:  # type: ignore[type-arg]
    files["entries.jsonl"] = "\n".join(json.dumps(line, separators=(",", ":")) for line in lines).encode()


def _change_byte(files: dict[str, bytes]) -> None:
    lines = _lines(files)
    ct = lines[4]["entry"]["body"]["ct"]
    lines[4]["entry"]["body"]["ct"] = ct[:10] + ("A" if ct[10] != "A" else "B") + ct[11:]
    _put_lines(files, lines)


def _drop_entry(files: dict[str, bytes]) -> None:
    lines = _lines(files)
    del lines[5]
    _put_lines(files, lines)


def _reorder(files: dict[str, bytes]) -> None:
    lines = _lines(files)
    lines[5], lines[6] = lines[6], lines[5]
    _put_lines(files, lines)


def _resign_with_another_server_key(files: dict[str, bytes]) -> None:
    from consult.client.chain import ChainWriter
    from consult.lib.crypto import generate_private_key

    lines = _lines(files)
    writer = ChainWriter(lines[0]["entry"]["thread"], generate_private_key())
    for n, line in enumerate(lines):
        entry = line["entry"]
        lines[n] = {**line, **writer.append(entry["kind"], entry["body"], user=entry["actor"]["user"],
                                            device=entry["actor"]["device"])}  # fmt: skip
    _put_lines(files, lines)


def _forge_device_signature(files: dict[str, bytes]) -> None:
    manifest = json.loads(files["manifest.json"])
    lines = _lines(files)
    message = next(i for i, line in enumerate(lines) if line["entry"]["kind"] == "message")
    sig = lines[message]["entry"]["body"]["sig"]
    lines[message]["entry"]["body"]["sig"] = sig[:-3] + ("AAA" if not sig.endswith("AAA") else "BBB")
    _put_lines(files, lines)
    del manifest  # the chain still changes, but the device check is what the forgery targets


def _swap_certificate(files: dict[str, bytes]) -> None:
    manifest = json.loads(files["manifest.json"])
    devices = list(manifest["devices"])
    a, b = devices[0], devices[1]
    manifest["devices"][a]["sig"], manifest["devices"][b]["sig"] = (
        manifest["devices"][b]["sig"],
        manifest["devices"][a]["sig"],
    )
    files["manifest.json"] = json.dumps(manifest).encode()


def _change_file(files: dict[str, bytes]) -> None:
    name = next(n for n in files if n.startswith("files/"))
    files[name] = bytes([files[name][0] ^ 1]) + files[name][1:]


def _truncate_file(files: dict[str, bytes]) -> None:
    name = next(n for n in files if n.startswith("files/"))
    files[name] = files[name][:-100]


def _remove_acknowledgement(files: dict[str, bytes]) -> None:
    lines = _lines(files)
    receipt = next(i for i, line in enumerate(lines) if line["entry"]["kind"] == "receipt")
    _put_lines(files, lines[:receipt] + lines[receipt + 1 :])


def _edit_shown_text(files: dict[str, bytes]) -> None:
    """A decrypted payload says something else; the chain (over the ciphertext) is untouched."""
    lines = _lines(files)
    message = next(line for line in lines if "payload" in line)
    message["payload"]["text"] = "No: the offence carries six months at most."
    _put_lines(files, lines)


def _edit_html(files: dict[str, bytes]) -> None:
    files["record.html"] = files["record.html"].replace(b"at least one year", b"at most six months")


def _drop_html(files: dict[str, bytes]) -> None:
    del files["record.html"]


def _edit_manifest(files: dict[str, bytes]) -> None:
    manifest = json.loads(files["manifest.json"])
    manifest["members"][0]["display_name"] = "Somebody Else"
    files["manifest.json"] = json.dumps(manifest).encode()


def _digest_of(entry: dict) -> str:  # type: ignore[type-arg]
    from consult.lib.canonical import canonical_json
    from consult.lib.crypto import b64u, sha256

    return b64u(sha256(canonical_json(entry)))


def _rewrite_behind_a_digest(files: dict[str, bytes]) -> None:
    """The last entry (the export) keeps its link through a digest while its content is rewritten."""
    lines = _lines(files)
    last = lines[-1]
    last["digest"] = _digest_of(last["entry"])
    last["entry"]["body"]["by"], last["entry"]["at"] = "someone else", "2020-01-01T00:00:00.000Z"
    _put_lines(files, lines)


def _purge_without_a_purge_entry(files: dict[str, bytes]) -> None:
    """A message's content is dropped, with no purge in the record, and what remains is rewritten."""
    lines = _lines(files)
    message = next(line for line in lines if line["entry"]["kind"] == "message")
    message["digest"] = _digest_of(message["entry"])
    message.pop("payload", None)
    del message["entry"]["body"]["ct"]
    message["entry"]["at"] = "2020-01-01T00:00:00.000Z"
    _put_lines(files, lines)


TAMPERING = {
    "changed byte": (_change_byte, "entry 5: hash"),
    "dropped entry": (_drop_entry, "entry 6: missing"),
    "reordered entries": (_reorder, "entry 6: missing, out of order"),
    "re-signed chain": (_resign_with_another_server_key, "entry 1: server"),
    "forged device signature": (_forge_device_signature, "hash"),
    "swapped certificate": (_swap_certificate, "certificate"),
    "changed file": (_change_file, "SHA-256 does not match"),
    "truncated file": (_truncate_file, "SHA-256 does not match"),
    "removed acknowledgement": (_remove_acknowledgement, "missing, out of order"),
    "edited manifest": (_edit_manifest, "manifest (exporter's signature)"),
    "edited shown text": (_edit_shown_text, "entries.jsonl: SHA-256 does not match the manifest"),
    "edited record.html": (_edit_html, "record.html: SHA-256 does not match the manifest"),
    "dropped record.html": (_drop_html, "record.html: missing"),
    "entry rewritten behind a digest": (_rewrite_behind_a_digest, "claims a purge but is not a message"),
    "purge that no entry records": (_purge_without_a_purge_entry, "no purge entry records that"),
}


@pytest.mark.parametrize(("edit", "names"), TAMPERING.values(), ids=TAMPERING.keys())
def test_verify__tampering_is_named(world: World, story: Story, tmp_path: Path, edit, names: str) -> None:  # type: ignore[no-untyped-def]
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(_rezip(export(world, world.fr_supervisor, story), edit))
    with pytest.raises(CommandError) as broken:
        call_command("record", "verify", str(tampered), stdout=io.StringIO())
    assert "BROKEN" in str(broken.value) and names in str(broken.value), str(broken.value)


def test_verify__a_hundred_honest_generated_exports_raise_no_false_alarm(world: World) -> None:
    """Threads of varied shape (members in and out, rotations, receipts) all verify."""
    import random

    from django.db import transaction

    from consult.actions.exports import record_data
    from consult.actions.records import do_append_entry
    from consult.actions.threads import locked_thread
    from consult.client.record import build_bundle
    from consult.lib.bundle import FORMAT
    from consult.models import Thread
    from tests.realtime import rotate
    from tests.record_helpers import change, say

    rng = random.Random(20261122)
    for n in range(100):
        thread_id, key = open_thread(world.fr, world.case, history=rng.choice(["shared", "from_join"]))
        if rng.random() < 0.5:
            change(world.fr, thread_id, "add", world.de)
            key = rotate(world.fr, thread_id)
        for m in range(rng.randint(0, 4)):
            key = rotate(world.fr, thread_id) if rng.random() < 0.2 else key
            say(world.fr, thread_id, key, f"thread {n} message {m} " + "é€😀" * rng.randint(0, 3))
        authority = rng.choice(["FR-MJ", "DE-BFJ"])
        supervisor = world.fr_supervisor if authority == "FR-MJ" else world.de_supervisor
        with transaction.atomic():  # the export entry, as check_export writes it (without a code each time)
            body = {"by": str(supervisor.user.pk), "format": FORMAT}
            do_append_entry(locked_thread(thread_id), "export", body, user=supervisor.user, device=None)
        data = record_data(Thread.objects.get(pk=thread_id))
        bundle = build_bundle(data, exporter=supervisor.device, exporter_authority=authority, blobs={},
                              records_key=world.records[authority] if rng.random() < 0.7 else None)  # fmt: skip
        summary = verify_bundle(read_bundle(bundle))
        assert summary.entries == len(data["items"])


def test_record_html__hostile_text_is_inert(world: World) -> None:
    """Payloads from the XSS corpus render without script, handlers or javascript: links."""
    import re

    from consult.lib.sanitize import markdown_to_html
    from tests.testdata import TESTDATA

    corpus = (TESTDATA / "xss" / "payloadsallthethings" / "XSS_Polyglots.txt").read_text(errors="replace")
    corpus += (TESTDATA / "xss" / "payloadsallthethings" / "xss_payloads_quick.txt").read_text(errors="replace")
    payloads = {line.strip() for line in corpus.splitlines() if line.strip()}
    assert len(payloads) > 40
    for payload in payloads:
        html = markdown_to_html(payload).lower()
        assert not re.search(r"<(script|iframe|object|embed|base|img|svg|style|form)\b", html), payload
        assert not re.search(r"<[^>]+\son\w+\s*=", html), payload
        assert "javascript:" not in re.findall(r'href="([^"]*)"', html).__str__(), payload


def test_export__returns_the_exporters_authority_wrapped_records_keys_newest_first(world: World) -> None:
    """After a records-key rotation the browser needs the retired key too, to open older
    packages; the answer holds every key of the exporter's authority and none of the other."""
    from django.test import RequestFactory

    from consult.actions.devices import check_publish_records_key
    from consult.actions.exports import record_data
    from consult.client import RecordsKey as ClientRecordsKey
    from consult.models import RecordsKey, Thread
    from tests.helpers import totp_now
    from tests.realtime import opaque_wrapped, open_thread

    thread_id, _ = open_thread(world.fr, world.case)
    supervisor = world.fr_supervisor
    newer = ClientRecordsKey.generate("FR-MJ")
    wrapped = opaque_wrapped()
    certificate = supervisor.identity.certify_records_key(newer).to_json()
    check_publish_records_key(supervisor.user, supervisor.user.authority, {**certificate, "wrapped": wrapped})  # type: ignore[arg-type]

    device = add_totp(supervisor.user)
    data = check_export(RequestFactory().post("/"), supervisor.user, thread_id, totp_now(device))
    keys = data["wrapped_records_keys"]
    current, retired = RecordsKey.objects.filter(authority__code="FR-MJ").order_by("-created_at")
    assert keys == [
        {"dh": current.dh_public, "wrapped": wrapped, "created_at": current.created_at.isoformat(), "retired_at": None},
        {
            "dh": retired.dh_public,
            "wrapped": None,
            "created_at": retired.created_at.isoformat(),
            "retired_at": retired.retired_at.isoformat() if retired.retired_at else "missing",
        },
    ]
    assert retired.retired_at is not None
    german = RecordsKey.objects.get(authority__code="DE-BFJ")
    assert german.dh_public not in json.dumps(keys)
    assert "wrapped_records_keys" not in record_data(Thread.objects.get(pk=thread_id))  # not in the manifest

    de = world.de_supervisor
    data = check_export(RequestFactory().post("/"), de.user, thread_id, totp_now(add_totp(de.user)))
    assert [k["dh"] for k in data["wrapped_records_keys"]] == [german.dh_public]


# --- where a bundle ends, and who signed what ------------------------------------------


def test_verify__a_bundle_cut_short_by_its_exporter_is_broken(world: World, story: Story) -> None:
    """An exporter that signs a record without its own export entry (or stops earlier) hides what follows."""
    from consult.lib.bundle import BundleError

    data = export_data(world, world.fr_supervisor, story)
    for cut in (data["items"][:-1], data["items"][:-3]):
        bundle = read_bundle(build(world, world.fr_supervisor, {**data, "items": cut}, story.blobs, plaintext=True))
        with pytest.raises(BundleError, match=f"entry {len(cut)}: the record does not end with the export entry"):
            verify_bundle(bundle)


def test_verify__a_bundle_ending_with_someone_elses_export_is_broken(world: World, story: Story) -> None:
    """The last entry must be the export made by the exporter that the manifest names."""
    from consult.lib.bundle import BundleError

    data = export_data(world, world.fr_supervisor, story)
    bundle = read_bundle(build(world, world.de_supervisor, data, story.blobs, plaintext=False))
    with pytest.raises(BundleError, match="the record does not end with the export entry"):
        verify_bundle(bundle)
    honest = export_data(world, world.de_supervisor, story)
    verify_bundle(read_bundle(build(world, world.de_supervisor, honest, story.blobs, plaintext=False)))


def test_verify__the_manifest_carries_the_digests_of_what_a_readable_bundle_shows(world: World, story: Story) -> None:
    import hashlib

    from consult.lib.crypto import b64u

    data = export(world, world.fr_supervisor, story)
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["digests"] == {
        name: b64u(hashlib.sha256(archive.read(name)).digest()) for name in ("entries.jsonl", "record.html")
    }


def _forged_attribution(world: World, story: Story, signer: str) -> dict:  # type: ignore[type-arg]
    """The record as a compromised server could serve it: the first message of the French officer
    moved to ``signer``'s certified device (another of her own, or the German officer's), the
    chain re-signed with the server's own key so that every link and server signature holds."""
    from consult.client import build_acknowledgement
    from consult.client.chain import ChainWriter
    from consult.lib.crypto import unb64u
    from consult.lib.server_key import server_private_key

    second = world.fr.add_device()
    data = export_data(world, world.fr_supervisor, story)
    items = data["items"]
    french = str(world.fr.user.pk)
    message = next(i for i in items if i["entry"]["kind"] == "message" and i["entry"]["actor"]["user"] == french)
    if signer == "another device of the sender":
        message["entry"]["actor"]["device"] = second.id
    else:
        message["entry"]["actor"] = {"user": str(world.de.user.pk), "device": world.de.device.id}
    writer, hashes = ChainWriter(story.thread_id, server_private_key()), {}
    data["items"] = []
    for item in items:
        kind, body = item["entry"]["kind"], item["entry"]["body"]
        if kind == "receipt":  # the German officer acknowledges the chain as served to him
            body = build_acknowledgement(world.de.device, thread=story.thread_id, seq=body["seq"],
                                         hash_=unb64u(hashes[body["seq"]]))  # fmt: skip
        data["items"].append(writer.append(kind, body, **item["entry"]["actor"]))
        hashes[item["seq"]] = data["items"][-1]["hash"]
    return data


SIGNERS = ["another device of the sender", "a device of another member"]


@pytest.mark.parametrize("signer", SIGNERS)
def test_verify__an_envelope_signed_by_a_device_other_than_the_entrys_actor_is_broken(
    world: World, story: Story, signer: str
) -> None:
    from consult.lib.bundle import BundleError

    data = _forged_attribution(world, story, signer)
    bundle = read_bundle(build(world, world.fr_supervisor, data, story.blobs, plaintext=False))
    with pytest.raises(BundleError, match=r"entry \d+ \(message\): .*device"):
        verify_bundle(bundle)


@pytest.mark.parametrize("signer", SIGNERS)
def test_export__refuses_an_envelope_signed_by_a_device_other_than_the_entrys_actor(
    world: World, story: Story, signer: str
) -> None:
    from consult.lib.bundle import BundleError

    data = _forged_attribution(world, story, signer)
    with pytest.raises(BundleError, match=r"entry \d+ \(message\): .*device"):
        build(world, world.fr_supervisor, data, story.blobs, plaintext=True)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_export__a_message_sent_just_after_the_export_entry_is_not_in_the_exported_data(world: World) -> None:
    """The bundle must end with its export entry: a message sent between writing that entry and reading
    the record waits for the export instead of being served after it."""
    import time
    from concurrent.futures import Future, ThreadPoolExecutor

    from django.db import connection
    from django.test import RequestFactory

    from tests.helpers import totp_now
    from tests.record_helpers import say

    thread_id, key = open_thread(world.fr, world.case)
    device = add_totp(world.fr_supervisor.user)
    seen: dict[str, bool] = {"insert": False, "sent": False}
    later: list[Future[int]] = []

    def send() -> int:
        try:
            return say(world.fr, thread_id, key, "Sent while the supervisor exports.")
        finally:
            connection.close()  # this thread's own connection

    def sent_or_waiting(pool: ThreadPoolExecutor) -> None:
        later.append(pool.submit(send))
        deadline = time.monotonic() + 10
        with connection.cursor() as cursor:
            while time.monotonic() < deadline and not later[0].done():
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                if cursor.fetchone()[0]:
                    return  # the message waits for the thread's lock
                time.sleep(0.01)

    def message_in_between(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        seen["insert"] = seen["insert"] or sql.startswith('INSERT INTO "consult_entry"')
        if seen["insert"] and not seen["sent"] and sql.startswith("SELECT") and '"consult_entry"' in sql:
            seen["sent"] = True  # the first read of the entries once the export entry is written
            sent_or_waiting(pool)
        return execute(sql, params, many, context)

    with ThreadPoolExecutor(1) as pool, connection.execute_wrapper(message_in_between):
        request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
        data = check_export(request, world.fr_supervisor.user, thread_id, totp_now(device))
    assert seen["sent"]
    message = later[0].result(timeout=10)
    assert data["items"][-1]["entry"]["kind"] == "export"
    assert message == data["items"][-1]["seq"] + 1
