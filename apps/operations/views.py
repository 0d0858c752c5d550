"""HTTP endpoints chargers call: the one-time diagnostics upload link and firmware downloads."""
from __future__ import annotations

import logging
import tempfile

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .exceptions import UploadRefused
from .services import files

log = logging.getLogger(__name__)


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@csrf_exempt
@require_http_methods(["POST", "PUT"])
def diagnostics_upload(request: HttpRequest, token: str, file_name: str = "") -> HttpResponse:
    """A charger uploads its diagnostics here (OCPP 1.6 GetDiagnostics `location`): multipart POST (first file
    field) or a raw POST/PUT body; some chargers append the file name to the URL. Refused link → 403, nothing saved."""
    try:
        files.diagnostics_request_for_token(token=token)  # refuse before reading a possibly large body
        if request.content_type == "multipart/form-data":
            uploaded = next(iter(request.FILES.values()), None)
            if uploaded is None:
                return HttpResponse("No file in the upload.\n", status=400, content_type="text/plain")
            saved = files.diagnostics_upload_accept(token=token, content=uploaded, file_name=uploaded.name,
                                                    content_type=uploaded.content_type or "",
                                                    client_ip=_client_ip(request))
        else:
            limit = files.diagnostics_max_bytes()
            with tempfile.TemporaryFile() as body:
                size = 0
                while chunk := request.read(64 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise UploadRefused(f"The uploaded file is larger than {limit} bytes.")
                    body.write(chunk)
                saved = files.diagnostics_upload_accept(token=token, content=body, file_name=file_name,
                                                        content_type=request.content_type or "",
                                                        client_ip=_client_ip(request))
    except UploadRefused as exc:
        log.warning("diagnostics upload refused from %s: %s", _client_ip(request), exc.message)
        return HttpResponse(exc.message + "\n", status=403, content_type="text/plain")
    log.info("diagnostics of %s received: %s bytes", saved.station.ocpp_id, saved.size_bytes)
    return HttpResponse(f"Received {saved.size_bytes} bytes.\n", status=201, content_type="text/plain")


@require_http_methods(["GET", "HEAD"])
def firmware_download(request: HttpRequest, token: str, file_name: str) -> FileResponse:
    """The firmware file of an UpdateFirmware `location`; the token in the URL is the only key (chargers have no
    other credentials for plain HTTP downloads)."""
    firmware = files.firmware_image_for_token(token=token)
    if firmware is None or not firmware.file or firmware.file.name.rsplit("/", 1)[-1] != file_name:
        raise Http404("No such firmware file.")
    return FileResponse(firmware.file.open("rb"), as_attachment=True, filename=file_name,
                        content_type="application/octet-stream")
