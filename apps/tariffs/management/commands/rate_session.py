"""Price a session (or re-price an OCPI CDR) against an OCPI 2.2.1 tariff and print the breakdown as JSON in OCPI
CDR field names. Bad input → a message on stderr and exit code 2.

    python manage.py rate_session --tariff tariff.json --session session.json
    python manage.py rate_session --tariff tariff.json --cdr cdr.json [--time-zone Europe/Lisbon]

session.json: {"started_at": ISO-8601 UTC, "stopped_at": …, "charging_ended_at": … (optional),
"time_zone": "Europe/Lisbon", "user_group": "public" (optional),
"readings": [{"at": ISO-8601 UTC, "energy_wh": cumulative int}, …],
"price_schedule": {"mode": "at_start"|"hourly", "hours": [{"start_at", "energy_per_kwh", "idle_per_minute",
"fixed"}]} (optional)}."""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from evnet.exceptions import DomainError

from ...engine.ocpi import _num, tariff_spec_from_ocpi
from ...engine.rating import HourPrice, PriceSchedule, Reading, rate
from ...exceptions import InvalidSession
from ...services import _calendar_resolver

# OCPI CdrLocation has a country but no time zone: the mainland zone of each country evnet serves.
COUNTRY_TIME_ZONES = {"PRT": "Europe/Lisbon", "PT": "Europe/Lisbon", "BRA": "America/Sao_Paulo",
                      "BR": "America/Sao_Paulo"}


def _load(path: str, what: str):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh, parse_float=Decimal)
    except FileNotFoundError as exc:
        raise InvalidSession(f"{what} file {path} does not exist.") from exc
    except json.JSONDecodeError as exc:
        raise InvalidSession(f"{what} file {path} is not valid JSON: {exc.msg} at line {exc.lineno} column "
                             f"{exc.colno}.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidSession(f"{what} file {path} cannot be read: {exc}.") from exc


def _field(data: dict, key: str, where: str):
    if not isinstance(data, dict):
        raise InvalidSession(f"{where} must be a JSON object.")
    if key not in data or data[key] is None:
        raise InvalidSession(f"{where} has no “{key}”.")
    return data[key]


def _when(value, where: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidSession(f"{where} must be an ISO 8601 timestamp, not {value!r}.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidSession(f"{where} “{value}” is not an ISO 8601 timestamp.") from exc
    if moment.tzinfo is None:
        raise InvalidSession(f"{where} “{value}” has no UTC offset (write …Z).")
    return moment


def _decimal(value, where: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidSession(f"{where} must be a number, not {value!r}.") from exc
    if not number.is_finite() or isinstance(value, bool):
        raise InvalidSession(f"{where} must be a number, not {value!r}.")
    return number


def session_from_json(data: dict) -> dict:
    started = _when(_field(data, "started_at", "session"), "started_at")
    stopped = _when(_field(data, "stopped_at", "session"), "stopped_at")
    ended = data.get("charging_ended_at")
    raw_readings = _field(data, "readings", "session")
    if not isinstance(raw_readings, list):
        raise InvalidSession("session.readings must be a list of {at, energy_wh}.")
    readings = []
    for i, raw in enumerate(raw_readings):
        energy = _field(raw, "energy_wh", f"readings[{i}]")
        if isinstance(energy, bool) or not isinstance(energy, (int, Decimal)) or int(energy) != energy:
            raise InvalidSession(f"readings[{i}].energy_wh must be a whole number of Wh, not {energy!r}.")
        readings.append(Reading(_when(_field(raw, "at", f"readings[{i}]"), f"readings[{i}].at"), int(energy)))
    schedule = None
    if data.get("price_schedule") is not None:
        raw = data["price_schedule"]
        hours = [HourPrice(_when(_field(h, "start_at", f"price_schedule.hours[{i}]"), "start_at"),
                           _decimal(_field(h, "energy_per_kwh", f"price_schedule.hours[{i}]"), "energy_per_kwh"),
                           _decimal(h.get("idle_per_minute", 0), "idle_per_minute"),
                           _decimal(h.get("fixed", 0), "fixed"))
                 for i, h in enumerate(_field(raw, "hours", "price_schedule"))]
        schedule = PriceSchedule(hours=sorted(hours, key=lambda h: h.start_at), mode=raw.get("mode", "at_start"))
    return {"started_at": started, "stopped_at": stopped,
            "charging_ended_at": None if ended is None else _when(ended, "charging_ended_at"),
            "readings": readings, "time_zone": data.get("time_zone"), "user_group": data.get("user_group"),
            "price_schedule": schedule}


def session_from_cdr(cdr: dict) -> dict:
    """An OCPI 2.2.1 CDR's charging periods as a session: each period lasts until the next one (the last until
    end_date_time); its ENERGY volume (kWh) is spread linearly over it; charging ends at the start of the first
    period after which no period delivers energy and that has a PARKING_TIME dimension."""
    started = _when(_field(cdr, "start_date_time", "cdr"), "start_date_time")
    stopped = _when(_field(cdr, "end_date_time", "cdr"), "end_date_time")
    periods = _field(cdr, "charging_periods", "cdr")
    if not isinstance(periods, list) or not periods:
        raise InvalidSession("cdr.charging_periods must be a non-empty list.")
    parsed = []
    for i, p in enumerate(periods):
        at = _when(_field(p, "start_date_time", f"charging_periods[{i}]"), f"charging_periods[{i}].start_date_time")
        dims = {}
        for k, d in enumerate(_field(p, "dimensions", f"charging_periods[{i}]")):
            dims[_field(d, "type", f"charging_periods[{i}].dimensions[{k}]")] = _decimal(
                _field(d, "volume", f"charging_periods[{i}].dimensions[{k}]"), "volume")
        parsed.append((at, dims))
    parsed.sort(key=lambda x: x[0])
    readings = [Reading(started, 0)]
    energy = Decimal(0)
    charging_ended = None
    for i, (at, dims) in enumerate(parsed):
        end = parsed[i + 1][0] if i + 1 < len(parsed) else stopped
        if end < at:
            raise InvalidSession(f"charging_periods[{i}] starts after the CDR ends.")
        energy += dims.get("ENERGY", Decimal(0))
        readings.append(Reading(at, readings[-1].energy_wh))
        readings.append(Reading(end, int((energy * 1000).to_integral_value())))
        if "PARKING_TIME" in dims and charging_ended is None:
            charging_ended = at
        if dims.get("ENERGY", Decimal(0)) > 0:
            charging_ended = None
    location = cdr.get("cdr_location") or {}
    return {"started_at": started, "stopped_at": stopped, "charging_ended_at": charging_ended,
            "readings": readings, "time_zone": COUNTRY_TIME_ZONES.get(location.get("country", "")),
            "user_group": None, "price_schedule": None,
            "cdr_total_cost": cdr.get("total_cost")}


def _conv(value):
    if isinstance(value, Decimal):
        return _num(value)
    if isinstance(value, dict):
        return {k: _conv(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_conv(v) for v in value]
    return value


def result_json(result, extra: dict | None = None) -> dict:
    """The RatingResult as JSON-ready OCPI CDR totals, plus VAT, lines, anomalies and `extra` first."""
    conv = _conv
    out = conv(dict(extra or {})) | conv(result.cdr_totals())
    out["total_vat"] = _num(result.total_vat)
    out["lines"] = [conv({k: (Decimal(v) if isinstance(v, str) and k not in ("dimension", "period", "season",
                                                                              "day_type") else v)
                          for k, v in line.as_dict().items()}) for line in result.lines]
    out["anomalies"] = list(result.anomalies)
    return out


class Command(BaseCommand):
    help = "Price a session or re-price an OCPI 2.2.1 CDR against an OCPI 2.2.1 tariff; prints OCPI CDR totals."

    def add_arguments(self, parser):
        parser.add_argument("--tariff", required=True, help="OCPI 2.2.1 Tariff JSON file")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--session", help="session JSON file (start, stop, readings)")
        source.add_argument("--cdr", help="OCPI 2.2.1 CDR JSON file to re-price")
        parser.add_argument("--time-zone", help="IANA zone of the site (default: from the session/CDR)")
        parser.add_argument("--user-group", help="price group (default: the session's, else public)")
        parser.add_argument("--accept-meter-reset", action="store_true",
                            help="price a session whose meter goes backwards (the reset is skipped and flagged)")

    def handle(self, *args, **options):
        try:
            output = self._run(options)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        self.stdout.write(json.dumps(output, indent=2, ensure_ascii=False))

    def _run(self, options) -> dict:
        tariff_data = _load(options["tariff"], "Tariff")
        spec = tariff_spec_from_ocpi(tariff_data, calendar_resolver=_calendar_resolver)
        if options["session"]:
            session = session_from_json(_load(options["session"], "Session"))
        else:
            session = session_from_cdr(_load(options["cdr"], "CDR"))
        time_zone = options["time_zone"] or session["time_zone"]
        if not time_zone:
            raise InvalidSession("The session has no “time_zone” (tariff periods are local time): add it or pass "
                                 "--time-zone Europe/Lisbon.")
        readings = session["readings"]
        if not options["accept_meter_reset"]:
            for before, after in zip(readings, readings[1:]):
                if after.at < before.at:
                    raise InvalidSession(f"Meter readings go back in time at {after.at.isoformat()}.")
                if after.energy_wh < before.energy_wh:
                    raise InvalidSession(
                        f"The meter goes backwards at {after.at.isoformat()} ({before.energy_wh} → "
                        f"{after.energy_wh} Wh); pass --accept-meter-reset to skip the reset and price the rest.")
        result = rate(tariff=spec, readings=readings, started_at=session["started_at"],
                      stopped_at=session["stopped_at"], charging_ended_at=session["charging_ended_at"],
                      time_zone=time_zone, user_group=options["user_group"] or session["user_group"] or "public",
                      price_schedule=session["price_schedule"])
        extra = {"tariff_id": spec.tariff_id, "time_zone": time_zone}
        if session.get("cdr_total_cost") is not None:
            extra["cdr_total_cost"] = session["cdr_total_cost"]
            claimed = session["cdr_total_cost"].get("excl_vat") if isinstance(session["cdr_total_cost"], dict) \
                else None
            if claimed is not None:
                extra["difference_excl_vat"] = _num(result.total_excl_vat - _decimal(claimed, "total_cost"))
        return result_json(result, extra)


