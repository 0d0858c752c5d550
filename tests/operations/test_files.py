"""GetDiagnostics hands the charger a one-time signed upload link under /ops/; firmware images are served to
chargers at an unguessable URL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from apps.operations.exceptions import StationOffline
from apps.operations.models import DiagnosticsRequest, FirmwareImage
from apps.operations.services import station_commands as sc
from apps.operations.services.files import firmware_image_prepare
from tests.factories import OrganizationFactory, SiteFactory, StationFactory

from .chargerside import ConsumerSide

pytestmark = pytest.mark.django_db(transaction=True)


def diagnostics_answer(message):
    return {"ok": True, "payload": {"fileName": "zcs031974-logs.tar.gz"}, "error": None}


async def _request_diagnostics(station):
    async with ConsumerSide(station.ocpp_id, diagnostics_answer) as consumer:
        diagnostics, answer = await sync_to_async(sc.station_get_diagnostics)(station=station)
    return diagnostics, consumer.commands[0]["payload"]["location"]


@pytest.fixture
def station():
    return StationFactory(ocpp_id="ZCS031974", is_connected=True)


def _path(url: str) -> str:
    return url.split("127.0.0.1:8000", 1)[1]


async def test_charger_uploads_diagnostics_once_with_put(station):
    diagnostics, location = await _request_diagnostics(station)
    assert location.startswith("http://127.0.0.1:8000/ops/diagnostics/")
    assert diagnostics.announced_file_name == "zcs031974-logs.tar.gz"
    client = Client()
    response = await sync_to_async(client.put)(_path(location) + "zcs031974-logs.tar.gz", data=b"log line 1\n" * 100,
                                               content_type="application/octet-stream")
    assert response.status_code == 201 and response.content == b"Received 1100 bytes.\n"
    saved = await database_sync_to_async(DiagnosticsRequest.objects.get)(pk=diagnostics.pk)
    assert saved.size_bytes == 1100 and saved.uploaded_at is not None
    assert saved.file.name.endswith("zcs031974-logs.tar.gz")
    with saved.file.open("rb") as stored:
        assert stored.read() == b"log line 1\n" * 100
    again = await sync_to_async(client.put)(_path(location), data=b"other", content_type="application/octet-stream")
    assert again.status_code == 403 and b"already received" in again.content


async def test_charger_uploads_diagnostics_multipart(station):
    diagnostics, location = await _request_diagnostics(station)
    upload = SimpleUploadedFile("diag.zip", b"PK\x03\x04zipdata", content_type="application/zip")
    response = await sync_to_async(Client().post)(_path(location), data={"file": upload})
    assert response.status_code == 201
    saved = await database_sync_to_async(DiagnosticsRequest.objects.get)(pk=diagnostics.pk)
    assert saved.size_bytes == 11 and saved.content_type == "application/zip" and saved.file.name.endswith("diag.zip")


async def test_forged_or_expired_link_is_403_and_nothing_saved(station):
    diagnostics, location = await _request_diagnostics(station)
    client = Client()
    forged = _path(location).rstrip("/") + "x/"
    assert (await sync_to_async(client.put)(forged, data=b"x", content_type="text/plain")).status_code == 403
    await database_sync_to_async(DiagnosticsRequest.objects.filter(pk=diagnostics.pk).update)(
        expires_at=timezone.now() - timedelta(seconds=1))
    expired = await sync_to_async(client.put)(_path(location), data=b"x", content_type="text/plain")
    assert expired.status_code == 403 and b"expired" in expired.content
    saved = await database_sync_to_async(DiagnosticsRequest.objects.get)(pk=diagnostics.pk)
    assert not saved.file and saved.uploaded_at is None


async def test_empty_upload_is_refused(station):
    _, location = await _request_diagnostics(station)
    response = await sync_to_async(Client().put)(_path(location), data=b"", content_type="text/plain")
    assert response.status_code == 403 and b"empty" in response.content


def test_diagnostics_for_an_offline_station_expires_its_link_at_once(station):
    station.is_connected = False
    station.save()
    with pytest.raises(StationOffline):
        sc.station_get_diagnostics(station=station)
    request = DiagnosticsRequest.objects.get(station=station)
    assert request.expires_at <= timezone.now() and request.command.outcome == "offline"


def test_diagnostics_link_get_is_not_allowed(station):
    assert Client().get("/ops/diagnostics/anything/").status_code == 405


@pytest.fixture
def firmware(station):
    image = FirmwareImage(organization=station.site.organization, name="Zaptec Go", version="2.3.1",
                          file=SimpleUploadedFile("zaptec-go-2.3.1.bin", b"\x7fFIRMWARE" * 50))
    firmware_image_prepare(firmware=image)
    image.save()
    return image


def test_firmware_is_served_at_its_download_url(firmware):
    assert firmware.size_bytes == 450 and len(firmware.sha256) == 64
    url = sc.firmware_download_url(firmware=firmware)
    response = Client().get(_path(url))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x7fFIRMWARE" * 50


def test_firmware_wrong_token_or_name_is_404(firmware):
    assert Client().get(f"/ops/firmware/{'x' * 43}/zaptec-go-2.3.1.bin").status_code == 404
    assert Client().get(f"/ops/firmware/{firmware.download_token}/other.bin").status_code == 404


async def test_update_firmware_points_the_charger_at_the_image(station, firmware):
    retrieve = timezone.now() + timedelta(hours=2)
    async with ConsumerSide(station.ocpp_id, lambda m: {"ok": True, "payload": {}, "error": None}) as consumer:
        answer = await sync_to_async(sc.station_update_firmware)(station=station, firmware=firmware,
                                                                 retrieve_at=retrieve, retries=3)
    assert answer == {}
    payload = consumer.commands[0]["payload"]
    assert payload["location"] == sc.firmware_download_url(firmware=firmware) and payload["retries"] == 3
    assert payload["retrieveDate"] == sc.ocpp_time(retrieve)


def test_firmware_of_another_organization_is_refused(station):
    other = FirmwareImage(organization=OrganizationFactory(), name="X", version="1",
                          file=SimpleUploadedFile("x.bin", b"x"))
    firmware_image_prepare(firmware=other)
    other.save()
    with pytest.raises(sc.InvalidCommand, match="another organization"):
        sc.station_update_firmware(station=station, firmware=other, retrieve_at=timezone.now())
