"""Reads about stations and connectors."""
from __future__ import annotations

import math
from datetime import datetime

from django.db.models import Q, QuerySet

from apps.users.models import IdTag

from .models import ChargingStation, Connector, StationPermission

_IDLE_TEXT = {
    Connector.Status.AVAILABLE: "Car disconnected",
    Connector.Status.PREPARING: "Car connected, waiting to start",
    Connector.Status.FINISHING: "Charging finished, car still connected",
    Connector.Status.RESERVED: "Reserved",
    Connector.Status.UNAVAILABLE: "Unavailable",
    Connector.Status.FAULTED: "Faulted",
    Connector.Status.UNKNOWN: "No status reported yet",
}


def _kw(watts: int) -> str:
    return f"{watts / 1000:.1f} kW"


def connector_status_text(*, connector: Connector) -> str:
    """What a clerk sees for a parking spot, as in the ChaZeMo screen: "Car disconnected" or
    "Charging at 2.4 kW of 4.6 kW allocated"."""
    if connector.status in (Connector.Status.CHARGING, Connector.Status.SUSPENDED_EV,
                            Connector.Status.SUSPENDED_EVSE):
        allocated = connector.allocated_power_w or connector.max_power_w
        verb = "Charging" if connector.status == Connector.Status.CHARGING else "Suspended"
        text = f"{verb} at {_kw(connector.power_w)} of {_kw(allocated)} allocated"
    else:
        text = _IDLE_TEXT.get(connector.status, connector.status)
    if connector.status == Connector.Status.FAULTED and connector.error_code:
        text += f" ({connector.error_code})"
    return text


def station_group_name(*, ocpp_id: str) -> str:
    """The channel-layer group of a station's WebSocket: every process publishes commands for the station here and
    the process holding its socket listens. Group names allow only ASCII letters, digits, '-', '_' and '.', so other
    characters of an OCPP identity (':') are escaped; identities are case-insensitive, so the name is lower-cased."""
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else f"_{ord(ch):02x}_"
                   for ch in ocpp_id.lower())
    return f"station.{safe}"


# --- Stations a driver may use, and where they are -------------------------------------------------------------

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
KM_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_KM / 180


def station_permission_valid_q(*, at: datetime) -> Q:
    """StationPermission rows in force at `at` (an open start or end means no bound): the one rule authorization,
    station search and local auth lists share."""
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=at)) & (Q(valid_until__isnull=True) | Q(valid_until__gt=at))


def station_access_q(*, organization_ids, card_ids, at: datetime) -> Q:
    """The one rule of who may charge at a station, as a filter on ChargingStation: charging's id_tag_authorize
    asks it for one card, the driver's station search for all of a person's usable cards. A station qualifies when
    it is approved and public; or organization-only and one of the cards is of its organization; or, whatever its
    mode, a StationPermission in force at `at` names one of the cards or the person who owns one of them (so a
    person's permission opens nothing while all their cards are blocked or expired). `organization_ids` and
    `card_ids` are lists or subqueries."""
    who = Q(id_tag_id__in=card_ids) | Q(user_id__in=IdTag.objects.filter(pk__in=card_ids).values("owner_id"))
    permitted = StationPermission.objects.filter(who, station_permission_valid_q(at=at)).values("station_id")
    return Q(registration_status=ChargingStation.RegistrationStatus.ACCEPTED) & (
        Q(access_mode=ChargingStation.AccessMode.PUBLIC)
        | Q(access_mode=ChargingStation.AccessMode.ORGANIZATION, site__organization_id__in=organization_ids)
        | Q(pk__in=permitted)
    )


def id_tags_usable_by(*, user, at: datetime) -> QuerySet[IdTag]:
    """A person's cards that a charger would accept at `at`: active and not expired."""
    return IdTag.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at), owner=user,
                                status=IdTag.Status.ACTIVE)


def station_queryset_usable_by(*, user, at: datetime) -> QuerySet[ChargingStation]:
    """Approved stations this person may charge at with one of their usable cards (station_access_q, the rule
    charging's authorization applies to each card). One query (subqueries inside)."""
    if not user or not user.is_authenticated:
        return ChargingStation.objects.none()
    cards = id_tags_usable_by(user=user, at=at)
    return ChargingStation.objects.filter(station_access_q(
        organization_ids=cards.values("organization_id"), card_ids=cards.values("pk"), at=at))


def distance_km(*, lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _longitude_filter(*, min_lon: float, max_lon: float) -> Q:
    """A longitude range; one that crosses the antimeridian (min > max) is two ranges."""
    if min_lon <= max_lon:
        return Q(site__longitude__gte=min_lon, site__longitude__lte=max_lon)
    return Q(site__longitude__gte=min_lon) | Q(site__longitude__lte=max_lon)


def stations_in_box(*, queryset: QuerySet[ChargingStation], min_lon: float, min_lat: float, max_lon: float,
                    max_lat: float) -> QuerySet[ChargingStation]:
    """Stations whose site lies in the box (edges included), through the index on the site's coordinates."""
    return queryset.filter(_longitude_filter(min_lon=min_lon, max_lon=max_lon),
                           site__latitude__gte=min_lat, site__latitude__lte=max_lat)


def stations_near(*, queryset: QuerySet[ChargingStation], latitude: float, longitude: float,
                  radius_km: float) -> list[tuple[int, float]]:
    """(station id, distance in km) of the stations within `radius_km` of the point, nearest first. The database
    only scans the bounding box of the circle (indexed site coordinates); the exact distance is computed here on
    the few rows inside it."""
    dlat = radius_km / KM_PER_DEGREE_LAT
    min_lat, max_lat = latitude - dlat, latitude + dlat
    cos_lat = math.cos(math.radians(latitude))
    if min_lat <= -90 or max_lat >= 90 or cos_lat < 1e-9:
        box = Q(site__latitude__gte=max(min_lat, -90), site__latitude__lte=min(max_lat, 90))
    else:
        # The widest longitude span of the circle is at the latitude nearest a pole.
        widest = max(abs(min_lat), abs(max_lat))
        dlon = radius_km / (KM_PER_DEGREE_LAT * math.cos(math.radians(widest)))
        if dlon >= 180:
            box = Q(site__latitude__gte=min_lat, site__latitude__lte=max_lat)
        else:
            lo, hi = longitude - dlon, longitude + dlon
            lo = lo + 360 if lo < -180 else lo
            hi = hi - 360 if hi > 180 else hi
            box = Q(site__latitude__gte=min_lat, site__latitude__lte=max_lat) & _longitude_filter(min_lon=lo,
                                                                                                 max_lon=hi)
    found = []
    for pk, lat, lon in queryset.filter(box).order_by().values_list("pk", "site__latitude", "site__longitude"):
        km = distance_km(lat1=latitude, lon1=longitude, lat2=float(lat), lon2=float(lon))
        if km <= radius_km:
            found.append((pk, km))
    found.sort(key=lambda item: (item[1], item[0]))
    return found


class ConnectorLive:
    """A connector's live fields, read without building a model instance (a search page reads hundreds)."""

    __slots__ = ("connector_id", "connector_type", "max_power_w", "status", "error_code", "status_at", "power_w",
                 "allocated_power_w")

    def __init__(self, row: dict):
        for name in self.__slots__:
            setattr(self, name, row[name])


def stations_with_connectors(*, station_ids: list[int]) -> list[ChargingStation]:
    """The stations (site loaded) in the order of `station_ids`, each with `live_connectors`: its connectors'
    live fields in number order. Two queries."""
    rows = {s.pk: s for s in ChargingStation.objects.filter(pk__in=station_ids).select_related("site").order_by()}
    for station in rows.values():
        station.live_connectors = []
    for row in (Connector.objects.filter(station_id__in=station_ids).order_by("station_id", "connector_id")
                .values("station_id", *ConnectorLive.__slots__)):
        rows[row["station_id"]].live_connectors.append(ConnectorLive(row))
    return [rows[pk] for pk in station_ids if pk in rows]
