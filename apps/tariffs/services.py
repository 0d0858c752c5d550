"""Writes of the tariffs app: calendars from data, tariff versions (validated, immutable once used), assignments.

Invariants: a TariffVersion's `ocpi` always parses into a TariffSpec (its TOU calendar embedded as a snapshot, so a
later calendar edit never changes a published version); a version that priced a session is never edited (edits
publish a new version); a tariff's currency equals the currency of every site it can apply to."""
from __future__ import annotations

import copy
from datetime import datetime, timezone as dt_timezone
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from apps.sites.models import Site

from .engine.calendar import CalendarSpec
from .engine.ocpi import _num, tariff_spec_from_ocpi, tariff_spec_to_ocpi
from .engine.types import TariffSpec
from .exceptions import CurrencyMismatch, InvalidTariff, TariffVersionLocked
from .models import Tariff, TariffAssignment, TariffVersion, TouCalendar, TouWindow

# VAT on EV charging per site country: the project-wide EVNET_VAT_RATES (fractions, shared with billing), stored
# on each version as a percent. PT: IVA 23 % (mainland). BR: depends on the operator's tax regime (ICMS/ISS are
# not a VAT), 0 unless configured.
DEFAULT_VAT_RATES = {"PT": "0.23", "BR": "0.00"}


def vat_rate_for_country(*, country: str) -> Decimal:
    """The VAT percent for a site country (PT → 23.00)."""
    rates = getattr(settings, "EVNET_VAT_RATES", DEFAULT_VAT_RATES)
    return (Decimal(str(rates.get(country, "0"))) * 100).quantize(Decimal("0.01"))


@transaction.atomic
def tou_calendar_import(*, data: dict) -> TouCalendar:
    """Create or replace a calendar (and its windows) from its JSON form, after validating that every day of
    every season is covered exactly once. Idempotent."""
    spec = CalendarSpec.from_dict(data)
    obj, _ = TouCalendar.objects.update_or_create(code=spec.code, defaults={
        "name": spec.name, "distributor": spec.distributor, "country": spec.country or data.get("country", ""),
        "season_rule": spec.season_rule, "holiday_country": spec.holiday_country or "",
        "holiday_subdiv": spec.holiday_subdiv or "", "holiday_day_type": spec.holiday_day_type or ""})
    obj.windows.all().delete()
    TouWindow.objects.bulk_create([
        TouWindow(calendar=obj, season=w["season"], day_type=w["day_type"], start=w["start"], end=w["end"],
                  period=w["period"]) for w in spec.to_dict()["windows"]])
    return obj


def _calendar_resolver(code: str) -> CalendarSpec:
    try:
        return TouCalendar.objects.get(code=code).spec()
    except TouCalendar.DoesNotExist as exc:
        raise InvalidTariff(f"evnet_tou_calendar “{code}” is not a known calendar.") from exc


def tariff_ocpi_validate(*, ocpi: dict, vat_rate: Decimal) -> tuple[dict, TariffSpec, TouCalendar | None]:
    """Validate an OCPI tariff and return the JSON to store: calendar embedded, evnet_vat_rate = the version's."""
    if not isinstance(ocpi, dict):
        raise InvalidTariff("The tariff must be a JSON object (an OCPI 2.2.1 Tariff).")
    data = copy.deepcopy(ocpi)
    data["evnet_vat_rate"] = _num(Decimal(vat_rate))
    calendar_row = None
    raw_cal = data.get("evnet_tou_calendar")
    if isinstance(raw_cal, str):
        calendar_row = TouCalendar.objects.filter(code=raw_cal).first()
    elif isinstance(raw_cal, dict) and raw_cal.get("code"):
        calendar_row = TouCalendar.objects.filter(code=raw_cal["code"]).first()
        if calendar_row is None:
            calendar_row = tou_calendar_import(data=raw_cal)
    spec = tariff_spec_from_ocpi(data, calendar_resolver=_calendar_resolver)
    return tariff_spec_to_ocpi(spec), spec, calendar_row


def _sites_of(tariff: Tariff):
    q = Q(tariff_assignments__tariff=tariff) | Q(stations__tariff_assignments__tariff=tariff)
    if tariff.is_organization_default:
        q |= Q(organization_id=tariff.organization_id)
    return Site.objects.filter(q).distinct()


def tariff_currency_check(*, tariff: Tariff, currency: str, sites=None) -> None:
    sites = _sites_of(tariff) if sites is None else sites
    wrong = [s for s in sites if s.currency != currency]
    if wrong:
        names = ", ".join(f"{s.name} ({s.currency})" for s in wrong[:5])
        raise CurrencyMismatch(f"Tariff {tariff.code} is in {currency} but applies to {names}: one currency per "
                               "site, evnet never converts.")


@transaction.atomic
def tariff_version_create(*, tariff: Tariff, ocpi: dict, valid_from_at: datetime | None = None,
                          valid_until_at: datetime | None = None, vat_rate: Decimal | None = None,
                          notes: str = "") -> TariffVersion:
    """Publish a new version (number = last + 1) of `tariff`, valid from `valid_from_at` (default now). VAT
    defaults to the organization's country rate. Refuses invalid OCPI and currencies other than its sites'."""
    Tariff.objects.select_for_update().get(pk=tariff.pk)
    if vat_rate is None:
        vat_rate = vat_rate_for_country(country=tariff.organization.country)
    vat_rate = Decimal(vat_rate).quantize(Decimal("0.01"))
    stored, spec, calendar_row = tariff_ocpi_validate(ocpi=ocpi, vat_rate=vat_rate)
    tariff_currency_check(tariff=tariff, currency=spec.currency)
    valid_from_at = valid_from_at or timezone.now()
    if valid_until_at is not None and valid_until_at <= valid_from_at:
        raise InvalidTariff("A version must end after it starts.")
    number = (tariff.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    return TariffVersion.objects.create(
        tariff=tariff, number=number, valid_from_at=valid_from_at, valid_until_at=valid_until_at,
        currency=spec.currency, vat_rate=vat_rate, calendar=calendar_row, ocpi=stored, notes=notes)


@transaction.atomic
def tariff_version_update(*, version: TariffVersion, ocpi: dict, valid_from_at: datetime,
                          valid_until_at: datetime | None, vat_rate: Decimal, notes: str = "") -> TariffVersion:
    """Edit a version no session has used yet. A used version raises TariffVersionLocked: publish a new one."""
    version = TariffVersion.objects.select_for_update().get(pk=version.pk)
    if version.is_locked:
        raise TariffVersionLocked(f"{version} priced sessions already and cannot change; publish a new version.")
    stored, spec, calendar_row = tariff_ocpi_validate(ocpi=ocpi, vat_rate=vat_rate)
    tariff_currency_check(tariff=version.tariff, currency=spec.currency)
    if valid_until_at is not None and valid_until_at <= valid_from_at:
        raise InvalidTariff("A version must end after it starts.")
    version.ocpi, version.currency, version.vat_rate, version.calendar = stored, spec.currency, vat_rate, calendar_row
    version.valid_from_at, version.valid_until_at, version.notes = valid_from_at, valid_until_at, notes
    version.save()
    return version


def tariff_version_revise(*, version: TariffVersion, valid_from_at: datetime | None = None) -> TariffVersion:
    """A new, editable version with the same prices, valid from `valid_from_at` (default now)."""
    return tariff_version_create(tariff=version.tariff, ocpi=version.ocpi, valid_from_at=valid_from_at,
                                 vat_rate=version.vat_rate, notes=f"revision of v{version.number}")


def tariff_version_lock(*, version_id: int) -> TariffVersion:
    """Mark a version as used (called when a session price is stored). Idempotent: the first lock time stays."""
    TariffVersion.objects.filter(pk=version_id, locked_at__isnull=True).update(locked_at=timezone.now())
    return TariffVersion.objects.get(pk=version_id)


@transaction.atomic
def tariff_assign(*, tariff: Tariff, site: Site | None = None, station=None, user_group: str = "") -> TariffAssignment:
    """Attach `tariff` to a site or a station for a price group (blank = all); replaces the previous assignment
    of that target and group. The tariff's versions must be in the site's currency."""
    if (site is None) == (station is None):
        raise InvalidTariff("Assign the tariff to a site or to a station.")
    target_site = site or station.site
    if target_site.organization_id != tariff.organization_id:
        raise InvalidTariff("A tariff can only be assigned within its own organization.")
    for currency in set(tariff.versions.values_list("currency", flat=True)):
        tariff_currency_check(tariff=tariff, currency=currency, sites=[target_site])
    assignment, _ = TariffAssignment.objects.update_or_create(
        site=site, station=station, user_group=user_group, defaults={"tariff": tariff})
    return assignment


@transaction.atomic
def tariff_import_ocpi(*, organization, data: dict, valid_from_at: datetime | None = None, name: str = "",
                       vat_rate: Decimal | None = None) -> TariffVersion:
    """Import an OCPI 2.2.1 Tariff: the tariff with code = its `id` (created if new) gets a new version."""
    if not isinstance(data, dict) or not data.get("id"):
        raise InvalidTariff("An imported OCPI tariff needs an “id” (it becomes the tariff code).")
    tariff, _ = Tariff.objects.get_or_create(organization=organization, code=str(data["id"])[:36],
                                             defaults={"name": name or str(data["id"])})
    if vat_rate is None and data.get("evnet_vat_rate") is not None:
        vat_rate = Decimal(str(data["evnet_vat_rate"]))
    return tariff_version_create(tariff=tariff, ocpi=data, valid_from_at=valid_from_at, vat_rate=vat_rate)


def tariff_export_ocpi(*, version: TariffVersion) -> dict:
    """The OCPI 2.2.1 Tariff of a version (calendar embedded, evnet_* extensions included, `last_updated`)."""
    data = dict(version.ocpi)
    data.setdefault("id", version.tariff.code)
    data["last_updated"] = version.updated_at.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return data

