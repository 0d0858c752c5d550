"""Files exchanged with chargers: diagnostics they upload to evnet, firmware images they download from it."""
from __future__ import annotations

import hashlib
import re
import secrets
from typing import IO

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from ..exceptions import UploadRefused
from ..models import DiagnosticsRequest, FirmwareImage
from .station_commands import DIAGNOSTICS_SALT, diagnostics_link_ttl

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def diagnostics_max_bytes() -> int:
    return int(getattr(settings, "EVNET_DIAGNOSTICS_MAX_BYTES", 100 * 1024 * 1024))


def upload_file_name(name: str, *, default: str) -> str:
    """A storage-safe file name from what the charger sent (no path, only letters, digits, . _ -)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _SAFE_NAME.sub("_", base).strip("._")[:100]
    return base or default


def diagnostics_request_for_token(*, token: str) -> DiagnosticsRequest:
    """The diagnostics request a one-time upload link names. UploadRefused when the signature is wrong, the link
    is older than its lifetime or expired, or a file was already received."""
    try:
        pk = signing.loads(token, salt=DIAGNOSTICS_SALT, max_age=diagnostics_link_ttl())
    except signing.SignatureExpired as exc:
        raise UploadRefused("This upload link has expired.") from exc
    except signing.BadSignature as exc:
        raise UploadRefused("This upload link is not valid.") from exc
    request = DiagnosticsRequest.objects.select_related("station").filter(pk=pk).first()
    if request is None:
        raise UploadRefused("This upload link is not valid.")
    if request.uploaded_at is not None:
        raise UploadRefused("A file was already received on this upload link.")
    if request.expires_at <= timezone.now():
        raise UploadRefused("This upload link has expired.")
    return request


@transaction.atomic
def diagnostics_upload_accept(*, token: str, content: IO[bytes], file_name: str, content_type: str = "",
                              client_ip: str | None = None) -> DiagnosticsRequest:
    """Store the diagnostics file a charger uploaded on its one-time link and link it to the station. The link is
    used up in the same transaction (row lock: two concurrent uploads cannot both be stored). Nothing is saved
    when the link is refused, the file is empty or larger than EVNET_DIAGNOSTICS_MAX_BYTES."""
    request = diagnostics_request_for_token(token=token)
    request = DiagnosticsRequest.objects.select_for_update().select_related("station").get(pk=request.pk)
    if request.uploaded_at is not None:
        raise UploadRefused("A file was already received on this upload link.")
    size = getattr(content, "size", None)
    if size is None:
        content.seek(0, 2)
        size = content.tell()
    content.seek(0)
    if size == 0:
        raise UploadRefused("The uploaded file is empty.")
    if size > diagnostics_max_bytes():
        raise UploadRefused(f"The uploaded file is larger than {diagnostics_max_bytes()} bytes.")
    name = upload_file_name(file_name or request.announced_file_name,
                            default=f"diagnostics-{request.station.ocpp_id}.bin")
    request.file.save(name, File(content, name=name), save=False)
    request.uploaded_at = timezone.now()
    request.size_bytes = size
    request.content_type = (content_type or "")[:100]
    request.uploaded_from = client_ip
    request.save(update_fields=["file", "uploaded_at", "size_bytes", "content_type", "uploaded_from"])
    return request


def firmware_image_prepare(*, firmware: FirmwareImage, uploaded_by=None) -> FirmwareImage:
    """Give a new firmware image its download token, size and SHA-256 (call before its first save)."""
    if not firmware.download_token:
        firmware.download_token = secrets.token_urlsafe(32)
    if uploaded_by is not None and firmware.uploaded_by_id is None and getattr(uploaded_by, "pk", None):
        firmware.uploaded_by = uploaded_by
    if firmware.file:
        digest = hashlib.sha256()
        for chunk in firmware.file.chunks():
            digest.update(chunk)
        firmware.sha256 = digest.hexdigest()
        firmware.size_bytes = firmware.file.size
        firmware.file.seek(0)
    return firmware


def firmware_image_for_token(*, token: str) -> FirmwareImage | None:
    return FirmwareImage.objects.filter(download_token=token).first()
