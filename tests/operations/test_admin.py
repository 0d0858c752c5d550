"""The command actions in the stations admin: a parameter page, then each charger's answer (or the clear
offline error) shown to the clerk; commands, diagnostics and firmware listed read-only and scoped."""
from __future__ import annotations

import re

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.operations.models import CommandRecord, DiagnosticsRequest, FirmwareImage
from apps.stations.models import ChargingStation
from tests.factories import ConnectorFactory, OrganizationFactory, SiteFactory, StationFactory, clerk_for

from .chargerside import ConsumerSide

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "/admin/stations/chargingstation/"


def _setup():
    tejo = OrganizationFactory(name="Condomínio Tejo", slug="tejo")
    sp = OrganizationFactory(name="Estaciona SP", slug="sp")
    online = StationFactory(site=SiteFactory(organization=tejo), ocpp_id="ZCS031974", is_connected=True)
    ConnectorFactory(station=online, connector_id=1)
    offline = StationFactory(site=online.site, ocpp_id="ZPR150666", is_connected=False)
    foreign = StationFactory(site=SiteFactory(organization=sp, time_zone="America/Sao_Paulo", currency="BRL"),
                             ocpp_id="SP-AC01", is_connected=True)
    clerk = clerk_for(tejo, username="ana.bpo")
    client = Client()
    client.force_login(clerk)
    return client, online, offline, foreign, tejo


async def test_reset_asks_for_the_type_then_shows_each_answer():
    client, online, offline, _, _ = await database_sync_to_async(_setup)()
    post = sync_to_async(client.post)
    form = await post(CHANGELIST, {"action": "ops_reset", "_selected_action": [online.pk, offline.pk]})
    assert form.status_code == 200
    page = form.content.decode()
    assert 'name="reset_type"' in page and re.search(r"ZPR150666</strong> \(Lugar n°\d+\) — offline", page)

    async with ConsumerSide("ZCS031974") as consumer:
        result = await post(CHANGELIST, {"action": "ops_reset", "_selected_action": [online.pk, offline.pk],
                                         "apply": "1", "reset_type": "Hard"})
    assert result.status_code == 200
    html = result.content.decode()
    assert 'id="command-results"' in html
    assert "Accepted" in html and "Station ZPR150666 is offline: Reset was not sent." in html
    assert consumer.commands[0]["payload"] == {"type": "Hard"}
    outcomes = await database_sync_to_async(lambda: dict(CommandRecord.objects.values_list("station__ocpp_id",
                                                                                          "outcome")))()
    assert outcomes == {"ZCS031974": "answered", "ZPR150666": "offline"}


async def test_invalid_parameters_show_the_form_again_and_send_nothing():
    client, online, _, _, _ = await database_sync_to_async(_setup)()
    async with ConsumerSide("ZCS031974") as consumer:
        response = await sync_to_async(client.post)(CHANGELIST, {
            "action": "ops_set_charging_profile", "_selected_action": [online.pk], "apply": "1",
            "connector_id": "0", "purpose": "TxProfile", "limit": "-3", "unit": "kW", "profile_id": "1",
            "stack_level": "0"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Select a valid choice. kW is not one of the available choices." in html
    assert "Ensure this value is greater than or equal to 0.1." in html
    assert consumer.commands == []
    assert not await database_sync_to_async(CommandRecord.objects.exists)()


async def test_set_charging_limit_in_watts_sends_a_default_profile():
    client, online, _, _, _ = await database_sync_to_async(_setup)()
    async with ConsumerSide("ZCS031974") as consumer:
        response = await sync_to_async(client.post)(CHANGELIST, {
            "action": "ops_set_charging_profile", "_selected_action": [online.pk], "apply": "1",
            "connector_id": "0", "purpose": "TxDefaultProfile", "limit": "4600", "unit": "W", "profile_id": "3",
            "stack_level": "1"})
    assert response.status_code == 200 and "Accepted" in response.content.decode()
    payload = consumer.commands[0]["payload"]
    assert payload["connectorId"] == 0
    assert payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 4600.0}]


async def test_clerk_cannot_command_another_organizations_station():
    client, _, _, foreign, _ = await database_sync_to_async(_setup)()
    async with ConsumerSide("SP-AC01") as consumer:
        response = await sync_to_async(client.post)(CHANGELIST, {
            "action": "ops_clear_cache", "_selected_action": [foreign.pk], "apply": "1"})
    # The selection is filtered through the clerk's scoped queryset: nothing selected, nothing sent.
    assert response.status_code == 302
    assert consumer.commands == []


def test_station_page_shows_operations_and_recent_commands():
    client, online, _, _, _ = _setup()
    CommandRecord.objects.create(station=online, request_id="r1", action="Reset", payload={"type": "Soft"},
                                 requested_at=online.created_at, outcome="answered", response={"status": "Accepted"})
    ChargingStation.objects.filter(pk=online.pk).update(firmware_status="Installed")
    response = client.get(f"{CHANGELIST}{online.pk}/change/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Uptime, last 7 days" in html and "not monitored" in html
    assert "#1: No status reported yet" in html
    assert "<td>Reset</td><td>Accepted</td>" in html
    assert "Installed" in html


def test_command_records_are_read_only_and_scoped():
    client, online, _, foreign, _ = _setup()
    mine = CommandRecord.objects.create(station=online, request_id="r1", action="ClearCache", payload={},
                                        requested_at=online.created_at, outcome="offline")
    theirs = CommandRecord.objects.create(station=foreign, request_id="r2", action="ClearCache", payload={},
                                          requested_at=online.created_at, outcome="offline")
    listing = client.get("/admin/operations/commandrecord/")
    assert listing.status_code == 200
    assert "ZCS031974" in listing.content.decode() and "SP-AC01" not in listing.content.decode()
    assert client.get(f"/admin/operations/commandrecord/{mine.pk}/change/").status_code == 200
    assert client.get(f"/admin/operations/commandrecord/{theirs.pk}/change/").status_code == 404
    assert client.get("/admin/operations/commandrecord/add/").status_code == 403
    filtered = client.get(f"/admin/operations/commandrecord/?station__id__exact={online.pk}")
    assert filtered.status_code == 200


def test_clerk_uploads_firmware_and_downloads_a_received_diagnostics_file():
    client, online, _, foreign, tejo = _setup()
    response = client.post("/admin/operations/firmwareimage/add/", {
        "organization": tejo.pk, "name": "Zaptec Go", "version": "2.3.1", "vendor": "Zaptec", "model": "Go",
        "file": SimpleUploadedFile("go-2.3.1.bin", b"\x00" * 64)})
    assert response.status_code == 302, response.content.decode()[:2000]
    image = FirmwareImage.objects.get()
    assert image.size_bytes == 64 and image.uploaded_by.username == "ana.bpo" and len(image.download_token) >= 40

    mine = DiagnosticsRequest.objects.create(station=online, requested_at=online.created_at,
                                             expires_at=online.created_at)
    mine.file.save("diag.txt", SimpleUploadedFile("diag.txt", b"boot ok\n"))
    theirs = DiagnosticsRequest.objects.create(station=foreign, requested_at=online.created_at,
                                               expires_at=online.created_at)
    theirs.file.save("theirs.txt", SimpleUploadedFile("theirs.txt", b"secret\n"))
    download = client.get(f"/admin/operations/diagnosticsrequest/{mine.pk}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"boot ok\n"
    assert client.get(f"/admin/operations/diagnosticsrequest/{theirs.pk}/download/").status_code == 404
