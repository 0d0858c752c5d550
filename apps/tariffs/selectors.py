"""Reads of the tariffs app (contract 3): which tariff version applies, its engine spec, quotes."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from .engine.ocpi import tariff_spec_from_ocpi
from .engine.rating import rate
from .engine.types import RatingResult, Reading, TariffSpec
from .exceptions import CurrencyMismatch, InvalidSession, NoTariff
from .models import Tariff, TariffAssignment, TariffVersion

_SPEC_CACHE: dict[tuple[int, datetime], TariffSpec] = {}
DEFAULT_QUOTE_POWER_W = 7400


def tariff_version_spec(*, version: TariffVersion) -> TariffSpec:
    """The engine spec of a version (cached per version and last edit; `spec.version_id` = version.pk)."""
    key = (version.pk, version.updated_at)
    spec = _SPEC_CACHE.get(key)
    if spec is None:
        spec = tariff_spec_from_ocpi(version.ocpi, version_id=version.pk)
        if len(_SPEC_CACHE) > 1024:
            _SPEC_CACHE.clear()
        _SPEC_CACHE[key] = spec
    return spec


def tariff_version_in_force(*, tariff: Tariff, at: datetime) -> TariffVersion | None:
    return (TariffVersion.objects.filter(tariff=tariff, valid_from_at__lte=at)
            .filter(Q(valid_until_at__isnull=True) | Q(valid_until_at__gt=at))
            .select_related("tariff").order_by("-number").first())


def tariff_for_station(*, station, user_group: str) -> list[Tariff]:
    """Candidate tariffs, most specific first: station+group, station, site+group, site, organization default."""
    rows = (TariffAssignment.objects.filter(Q(station=station) | Q(site_id=station.site_id))
            .filter(user_group__in=[user_group, ""]).select_related("tariff"))
    ranked = sorted(rows, key=lambda a: (a.station_id is None, a.user_group == ""))
    tariffs = [a.tariff for a in ranked]
    default = Tariff.objects.filter(organization_id=station.site.organization_id, is_organization_default=True).first()
    if default is not None:
        tariffs.append(default)
    return tariffs


def tariff_spec_for(*, station, user_group: str, at: datetime) -> TariffSpec | None:
    """The TariffVersion in force at `at` for this station (station, then site, then organization default), for
    the price group `user_group` (a group-specific assignment wins over an all-groups one). `spec.version_id` is
    the TariffVersion primary key. The first candidate with a version in force wins; None if none has one. Raises
    CurrencyMismatch when that version's currency differs from the site's."""
    for tariff in tariff_for_station(station=station, user_group=user_group):
        version = tariff_version_in_force(tariff=tariff, at=at)
        if version is None:
            continue
        if version.currency != station.site.currency:
            raise CurrencyMismatch(f"{version} is in {version.currency} but site {station.site} bills in "
                                   f"{station.site.currency}.")
        return tariff_version_spec(version=version)
    return None


def tariff_quote(*, station, energy_wh: int, start_at: datetime, power_w: int | None = None,
                 user_group: str = "public") -> RatingResult:
    """What would `energy_wh` from `start_at` cost at this station? Prices a session charging at a constant
    `power_w` (default: the station's max power, else 7.4 kW) with a reading every 5 minutes, stopping when the
    energy is delivered, with the tariff version in force at `start_at` for `user_group`."""
    if isinstance(energy_wh, bool) or not isinstance(energy_wh, int) or energy_wh < 0:
        raise InvalidSession(f"A quote needs a whole, non-negative number of Wh, not {energy_wh!r}.")
    power = power_w or getattr(station, "max_power_w", None) or DEFAULT_QUOTE_POWER_W
    if power <= 0:
        raise InvalidSession("A quote needs a positive charging power.")
    spec = tariff_spec_for(station=station, user_group=user_group, at=start_at)
    if spec is None:
        raise NoTariff(f"No tariff applies to station {station.ocpp_id} for price group “{user_group}”.")
    duration_s = energy_wh * 3600 / power
    stop_at = start_at + timedelta(seconds=duration_s)
    readings = [Reading(start_at, 0)]
    step = 300
    t = step
    while t < duration_s:
        readings.append(Reading(start_at + timedelta(seconds=t), round(power * t / 3600)))
        t += step
    readings.append(Reading(stop_at, energy_wh))
    return rate(tariff=spec, readings=readings, started_at=start_at, stopped_at=stop_at,
                time_zone=station.site.time_zone, user_group=user_group)


def tariff_specs_for_stations(*, stations, user_group: str, start_at: datetime,
                              end_at: datetime) -> dict[int, "StationTariffs"]:
    """`tariff_spec_for` for many stations and a time window in five queries instead of three per station and
    moment: for each station, the candidate tariffs (same precedence) and their versions overlapping
    [start_at, end_at). Ask the result `.spec_at(at)` for the spec in force at a moment of the window."""
    stations = list(stations)
    station_ids = {s.pk for s in stations}
    site_ids = {s.site_id for s in stations}
    organization_ids = {s.site.organization_id for s in stations}
    by_station: dict[int, list] = {}
    by_site: dict[int, list] = {}
    for row in (TariffAssignment.objects.filter(Q(station_id__in=station_ids) | Q(site_id__in=site_ids))
                .filter(user_group__in=[user_group, ""]).order_by()
                .values("tariff_id", "station_id", "site_id", "user_group")):
        target = by_station.setdefault(row["station_id"], []) if row["station_id"] else by_site.setdefault(
            row["site_id"], [])
        target.append(row)
    defaults = {}
    for tariff_id, organization_id in (Tariff.objects.filter(organization_id__in=organization_ids,
                                                             is_organization_default=True)
                                       .order_by("organization_id", "code").values_list("pk", "organization_id")):
        defaults.setdefault(organization_id, tariff_id)
    tariff_ids = {r["tariff_id"] for rows in (*by_station.values(), *by_site.values()) for r in rows}
    tariff_ids |= set(defaults.values())
    versions: dict[int, list[TariffVersion]] = {}
    for version in (TariffVersion.objects.filter(tariff_id__in=tariff_ids, valid_from_at__lt=end_at)
                    .filter(Q(valid_until_at__isnull=True) | Q(valid_until_at__gt=start_at))
                    .select_related("tariff").order_by("tariff_id", "-number")):
        versions.setdefault(version.tariff_id, []).append(version)
    out: dict[int, StationTariffs] = {}
    shared: dict[tuple, StationTariffs] = {}
    for station in stations:
        rows = by_station.get(station.pk, []) + by_site.get(station.site_id, [])
        ranked = sorted(rows, key=lambda r: (r["station_id"] is None, r["user_group"] == ""))
        candidates = [r["tariff_id"] for r in ranked]
        default = defaults.get(station.site.organization_id)
        if default is not None:
            candidates.append(default)
        key = (tuple(candidates), station.site.currency)
        if key not in shared:
            shared[key] = StationTariffs(candidates=[versions.get(t, []) for t in candidates],
                                         currency=station.site.currency)
        out[station.pk] = shared[key]
    return out


class StationTariffs:
    """The candidate tariffs of one station (most specific first) with their versions of a time window."""

    __slots__ = ("candidates", "currency")

    def __init__(self, *, candidates: list[list[TariffVersion]], currency: str):
        self.candidates = candidates
        self.currency = currency

    def spec_at(self, at: datetime) -> TariffSpec | None:
        """The spec `tariff_spec_for` would give at `at` (None: no tariff; a version in another currency than
        the site's is skipped as unusable rather than raised: a price list must not fail for one station)."""
        for versions in self.candidates:
            for version in versions:  # highest number first
                if version.valid_from_at <= at and (version.valid_until_at is None or version.valid_until_at > at):
                    if version.currency != self.currency:
                        return None
                    return tariff_version_spec(version=version)
        return None
