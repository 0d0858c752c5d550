"""One rule of who may charge where (apps.stations.selectors.station_access_q): apart from public stations, which
everybody sees, the stations a driver's search shows are exactly those where the charger accepts the driver's card;
and the local authorization list a station is sent for offline use says of each card what the charger would hear
online, and holds every card it would accept at a station that is not public."""
from datetime import datetime, timedelta, timezone
from itertools import product

import pytest

from apps.charging.services.authorization import ACCEPTED, id_tag_authorize
from apps.operations.services.station_commands import station_local_list_entries
from apps.organizations.models import Membership
from apps.stations.models import ChargingStation, StationPermission
from apps.stations.selectors import station_queryset_usable_by
from apps.users.models import IdTag
from tests.factories import IdTagFactory, OrganizationFactory, SiteFactory, StationFactory, UserFactory

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=timezone.utc)
MODES = [ChargingStation.AccessMode.PUBLIC, ChargingStation.AccessMode.ORGANIZATION,
         ChargingStation.AccessMode.RESTRICTED]
# Which card the driver holds, and which permission the station has for them.
CARDS = ["own_org", "other_org", "own_org_expired", "own_org_blocked"]
PERMISSIONS = ["none", "card", "person", "card_expired", "person_future"]


@pytest.mark.django_db
def test_search_shows_exactly_the_stations_where_the_drivers_card_is_accepted():
    station_org, other_org = OrganizationFactory(slug="station-org"), OrganizationFactory(slug="other-org")
    site = SiteFactory(organization=station_org)
    cases = []
    for i, (mode, card_kind, permission) in enumerate(product(MODES, CARDS, PERMISSIONS)):
        driver = UserFactory(username=f"driver{i}")
        # A membership of the station's organization alone is not a card: it must not open the station.
        Membership.objects.create(user=driver, organization=station_org, role=Membership.Role.DRIVER)
        card = IdTagFactory(
            uid=f"CARD{i:04d}", owner=driver, organization=other_org if card_kind == "other_org" else station_org,
            status=IdTag.Status.BLOCKED if card_kind == "own_org_blocked" else IdTag.Status.ACTIVE,
            expires_at=NOW - timedelta(days=1) if card_kind == "own_org_expired" else None)
        station = StationFactory(site=site, ocpp_id=f"ACCESS-{i:03d}", access_mode=mode)
        if permission in ("card", "card_expired"):
            StationPermission.objects.create(station=station, id_tag=card, valid_until=(
                NOW - timedelta(hours=1) if permission == "card_expired" else None))
        elif permission in ("person", "person_future"):
            StationPermission.objects.create(station=station, user=driver, valid_from=(
                NOW + timedelta(hours=1) if permission == "person_future" else None))
        cases.append((mode, card_kind, permission, driver, card, station))

    accepted_somewhere = 0
    for mode, card_kind, permission, driver, card, station in cases:
        verdict = id_tag_authorize(station=station, uid=card.uid, at=NOW).status
        accepted = verdict == ACCEPTED
        shown = station_queryset_usable_by(user=driver, at=NOW).filter(pk=station.pk).exists()
        listed = station_local_list_entries(station=station, at=NOW).get(card.uid)
        if listed is not None:
            # Offline, the charger must answer what it would hear online.
            assert listed["status"] == verdict, (mode, card_kind, permission, listed, verdict)
        if accepted and mode != ChargingStation.AccessMode.PUBLIC:
            # A card accepted online at a station that is not public is on its list (public stations accept
            # unknown cards online; offline that is the charger's AllowOfflineTxForUnknownId).
            assert listed is not None, (mode, card_kind, permission)
        if mode == ChargingStation.AccessMode.PUBLIC:
            # Public stations are shown to everybody, also to a driver whose only card is blocked or expired.
            assert shown and accepted == (card_kind in ("own_org", "other_org")), (mode, card_kind, permission)
        else:
            assert shown == accepted, (mode, card_kind, permission, accepted, shown)
        accepted_somewhere += accepted
        # Spot checks of the rule itself, so that agreeing on nothing cannot pass.
        if card_kind == "own_org" and mode != ChargingStation.AccessMode.RESTRICTED:
            assert accepted, (mode, card_kind, permission)
        if card_kind == "other_org" and mode == ChargingStation.AccessMode.ORGANIZATION:
            assert accepted == (permission in ("card", "person")), (mode, card_kind, permission)
        if mode == ChargingStation.AccessMode.RESTRICTED and card_kind in ("own_org", "other_org"):
            assert accepted == (permission in ("card", "person")), (mode, card_kind, permission)
        if card_kind in ("own_org_expired", "own_org_blocked"):
            assert not accepted and not (shown and mode != ChargingStation.AccessMode.PUBLIC)
    assert accepted_somewhere > 10


@pytest.mark.django_db
def test_a_pending_station_is_neither_shown_nor_accepting():
    org = OrganizationFactory(slug="pending-org")
    driver = UserFactory(username="pending-driver")
    card = IdTagFactory(uid="PENDING01", owner=driver, organization=org)
    station = StationFactory(site=SiteFactory(organization=org), ocpp_id="PENDING-1",
                             access_mode=ChargingStation.AccessMode.PUBLIC,
                             registration_status=ChargingStation.RegistrationStatus.PENDING)
    assert id_tag_authorize(station=station, uid=card.uid, at=NOW).status != ACCEPTED
    assert not station_queryset_usable_by(user=driver, at=NOW).filter(pk=station.pk).exists()
