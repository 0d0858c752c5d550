"""The raw OCPP message log and status history in the admin: read-only and scoped to the clerk's organizations."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.urls import reverse

from apps.ocpp.models import OcppMessage
from apps.stations.models import StationStatusEvent
from tests.factories import StationFactory, clerk_for

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def _message(station, message_id: str) -> OcppMessage:
    return OcppMessage.objects.create(station=station, direction="in", message_type=2, action="Heartbeat",
                                      message_id=message_id, payload={}, created_at=AT)


def test_clerk_sees_the_message_log_of_their_stations_only(client):
    mine, theirs = StationFactory(ocpp_id="MINE-9"), StationFactory(ocpp_id="THEIRS-9")
    own, foreign = _message(mine, "own-1"), _message(theirs, "foreign-1")
    client.force_login(clerk_for(mine.site.organization, username="ana"))
    page = client.get(reverse("admin:ocpp_ocppmessage_changelist"))
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [own]
    assert client.get(reverse("admin:ocpp_ocppmessage_change", args=[own.pk])).status_code == 200
    assert client.get(reverse("admin:ocpp_ocppmessage_change", args=[foreign.pk])).status_code == 404


def test_message_log_cannot_be_edited_or_deleted(client):
    station = StationFactory()
    message = _message(station, "m-1")
    client.force_login(clerk_for(station.site.organization, username="bruno"))
    change = client.get(reverse("admin:ocpp_ocppmessage_change", args=[message.pk]))
    assert change.status_code == 200 and b'name="payload"' not in change.content
    assert client.post(reverse("admin:ocpp_ocppmessage_delete", args=[message.pk]), {"post": "yes"}).status_code == 403
    assert OcppMessage.objects.filter(pk=message.pk).exists()


def test_status_history_is_scoped(client):
    mine, theirs = StationFactory(ocpp_id="MINE-8"), StationFactory(ocpp_id="THEIRS-8")
    own = StationStatusEvent.objects.create(station=mine, connector_number=1, status="Faulted", reported_at=AT,
                                            received_at=AT)
    StationStatusEvent.objects.create(station=theirs, connector_number=1, status="Available", reported_at=AT,
                                      received_at=AT)
    client.force_login(clerk_for(mine.site.organization, username="carla"))
    page = client.get(reverse("admin:stations_stationstatusevent_changelist"))
    assert list(page.context["cl"].result_list) == [own]
