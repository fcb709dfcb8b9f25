"""API: encrypted file blobs (DESIGN §7 ``POST blobs`` · ``GET blobs/{id}``).

The body of ``POST /api/v1/blobs?thread=T&sha256=H`` is the ciphertext itself
(``application/octet-stream``), not JSON: a 50 MiB file would grow by a third
in base64 and be parsed in memory.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from consult.actions.blobs import access_blob, check_store_blob, read_blob
from consult.models import User

router = Router(tags=["blobs"])


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


@router.post("/blobs", response={201: dict[str, Any]}, summary="Upload an encrypted file (members of the thread)")
def upload_blob(request: HttpRequest, thread: str, sha256: str) -> tuple[int, dict[str, Any]]:
    blob = check_store_blob(_user(request), thread, sha256, request, _content_length(request))  # type: ignore[arg-type]
    return 201, {"id": str(blob.pk), "thread": str(blob.thread_id), "size": blob.size, "sha256": blob.sha256}


@router.get("/blobs/{blob_id}", summary="Download an encrypted file (members of its thread, exporting supervisors)")
def download_blob(request: HttpRequest, blob_id: str) -> HttpResponse:
    blob = access_blob(_user(request), blob_id)
    # Whole-file read: blobs are bounded by COMITY_MAX_BLOB_BYTES, and a sync
    # iterator would be buffered by the ASGI handler anyway.
    response = HttpResponse(read_blob(blob), content_type="application/octet-stream")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
