"""The clerk's queue "Sessions needing attention": scoped, read-only, resolved with a note (who, when)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.urls import reverse

from apps.charging.exceptions import AttentionNotNeeded, ResolutionNoteRequired
from apps.charging.models import ChargingSession
from apps.charging.services.sessions import session_attention_resolve
from tests.factories import StationFactory, UserFactory, clerk_for

pytestmark = pytest.mark.django_db

URL = reverse("admin:charging_sessionneedingattention_changelist")


def _flagged(station, code="meter_backwards", **fields) -> ChargingSession:
    return ChargingSession.objects.create(
        station=station, connector_number=1, id_tag_uid="CARD-1",
        started_at=datetime(2026, 11, 2, 8, tzinfo=timezone.utc),
        meter_start_wh=0, meter_stop_wh=100, energy_wh=100, state="completed", needs_attention=True,
        anomalies=[{"code": code, "detail": "register went from 9000 Wh to 100 Wh", "at": "2026-11-02T09:00:00Z"}],
        **fields)


@pytest.fixture
def setup():
    mine = StationFactory(ocpp_id="MINE-1")
    theirs = StationFactory(ocpp_id="THEIRS-1")
    clerk = clerk_for(mine.site.organization, username="ana")
    return mine, theirs, clerk


def test_clerk_sees_only_their_organizations_anomalies(client, setup):
    mine, theirs, clerk = setup
    own = _flagged(mine)
    _flagged(theirs, code="closed_by_boot")
    ChargingSession.objects.create(station=mine, connector_number=1, started_at=datetime.now(timezone.utc),
                                   meter_start_wh=0)
    client.force_login(clerk)
    page = client.get(URL)
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [own]
    assert "meter_backwards" in page.content.decode() and "closed_by_boot" not in page.content.decode()
    assert client.get(reverse("admin:charging_sessionneedingattention_change", args=[own.pk])).status_code == 200


def test_clerk_resolves_with_a_note_and_the_session_leaves_the_queue(client, setup):
    mine, _, clerk = setup
    session = _flagged(mine)
    client.force_login(clerk)
    form = client.post(URL, {"action": "resolve_attention", "_selected_action": [session.pk]})
    assert form.status_code == 200 and b"register went from 9000 Wh to 100 Wh" in form.content
    done = client.post(URL, {"action": "resolve_attention", "_selected_action": [session.pk], "apply": "1",
                             "note": "Meter replaced on 2 Nov; energy confirmed with the condominium."},
                       follow=True)
    assert "Resolved 1 session(s)." in done.content.decode()
    session.refresh_from_db()
    assert not session.needs_attention and session.attention_resolved_by == clerk
    assert session.attention_resolved_at is not None and session.attention_note.startswith("Meter replaced")
    assert session.anomalies[0]["code"] == "meter_backwards"  # kept as history
    assert list(client.get(URL).context["cl"].result_list) == []


def test_resolving_without_a_note_changes_nothing(client, setup):
    mine, _, clerk = setup
    session = _flagged(mine)
    client.force_login(clerk)
    page = client.post(URL, {"action": "resolve_attention", "_selected_action": [session.pk], "apply": "1",
                             "note": "   "})
    assert page.status_code == 200 and b"This field is required" in page.content
    session.refresh_from_db()
    assert session.needs_attention and session.attention_resolved_by is None


def test_clerk_cannot_resolve_another_organizations_session(client, setup):
    _, theirs, clerk = setup
    session = _flagged(theirs)
    client.force_login(clerk)
    client.post(URL, {"action": "resolve_attention", "_selected_action": [session.pk], "apply": "1",
                      "note": "not mine"})
    session.refresh_from_db()
    assert session.needs_attention
    assert client.get(reverse("admin:charging_sessionneedingattention_change", args=[session.pk])).status_code == 404


def test_service_refuses_an_empty_note_and_a_session_without_anomaly(setup):
    mine, _, clerk = setup
    session = _flagged(mine)
    with pytest.raises(ResolutionNoteRequired):
        session_attention_resolve(session=session, user=clerk, note="")
    session_attention_resolve(session=session, user=clerk, note="checked")
    with pytest.raises(AttentionNotNeeded):
        session_attention_resolve(session=session, user=UserFactory(), note="again")


def test_sessions_stay_read_only_in_the_admin(client, setup):
    mine, _, clerk = setup
    session = _flagged(mine)
    client.force_login(clerk)
    page = client.get(reverse("admin:charging_chargingsession_change", args=[session.pk]))
    assert page.status_code == 200 and b'name="energy_wh"' not in page.content
    assert client.post(reverse("admin:charging_chargingsession_change", args=[session.pk]),
                       {"energy_wh": "0"}).status_code == 403
