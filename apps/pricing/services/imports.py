"""CSV import of the formula's inputs: load curves per feeder, PV curves (or irradiance), the energy tariff by hour,
and default occupancy curves. Each import is one transaction: a file with any bad line saves nothing, and the error
names every bad line and column (line 1 is the header). Separators: comma, or semicolon with decimal commas
("0,85"), as Brazilian spreadsheets export them."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction

from apps.organizations.models import Organization
from apps.sites.models import Site

from ..exceptions import PricingImportError
from ..models import HOURS, DayType, EnergyTariff, Feeder, LoadCurve, OccupancyDefault, PvCurve, Season, Utility

PU_QUANTUM = Decimal("0.0001")
KW_QUANTUM = Decimal("0.001")
DAY_TYPES = [choice.value for choice in DayType]
SEASONS = [choice.value for choice in Season]


@dataclass(frozen=True)
class ImportResult:
    lines: int
    curves: int
    summary: str


class _Sheet:
    """Rows of a CSV with line numbers, typed cell readers and an error list."""

    def __init__(self, text: str | bytes, *, required: list[str], optional: list[str] = ()):
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise PricingImportError([f"the file is not UTF-8 text (byte {exc.start})"])
        text = text.lstrip("\ufeff")
        first = text.splitlines()[0] if text.strip() else ""
        if not first:
            raise PricingImportError(["line 1: the file is empty (expected a header: " + ",".join(required) + ")"])
        self.delimiter = ";" if first.count(";") > first.count(",") else ","
        reader = csv.reader(io.StringIO(text), delimiter=self.delimiter)
        header = [cell.strip().lower() for cell in next(reader)]
        missing = [name for name in required if name not in header]
        if missing:
            raise PricingImportError([f"line 1: missing column {', '.join(repr(m) for m in missing)} "
                                      f"(the header must name {', '.join(required + list(optional))})"])
        self.header = header
        self.errors: list[str] = []
        self.rows: list[tuple[int, dict[str, str]]] = []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                self.errors.append(f"line {number}: {len(cells)} cells, the header has {len(header)}")
                continue
            self.rows.append((number, {name: cell.strip() for name, cell in zip(header, cells)}))
        if not self.rows and not self.errors:
            self.errors.append("the file has a header but no data lines")

    def fail(self, line: int, column: str, message: str) -> None:
        self.errors.append(f"line {line}, column {column!r}: {message}")

    def decimal(self, line: int, row: dict, column: str, *, minimum: Decimal | None = Decimal("0"),
                maximum: Decimal | None = None) -> Decimal | None:
        raw = row.get(column, "")
        text = raw.replace(",", ".") if self.delimiter == ";" else raw
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.fail(line, column, f"“{raw}” is not a number")
            return None
        if not value.is_finite():
            self.fail(line, column, f"“{raw}” is not a finite number")
            return None
        if minimum is not None and value < minimum:
            self.fail(line, column, f"{raw} is below {minimum}")
            return None
        if maximum is not None and value > maximum:
            self.fail(line, column, f"{raw} is above {maximum}")
            return None
        return value

    def hours(self, line: int, row: dict, column: str = "hour") -> list[int] | None:
        """An hour 0–23, or an inclusive range such as 18-20."""
        raw = row.get(column, "")
        parts = raw.split("-")
        try:
            bounds = [int(part) for part in parts]
        except ValueError:
            self.fail(line, column, f"“{raw}” is not an hour 0–23 (or a range such as 18-20)")
            return None
        if len(bounds) not in (1, 2) or any(b < 0 or b > 23 for b in bounds) or bounds[0] > bounds[-1]:
            self.fail(line, column, f"“{raw}” is not an hour 0–23 (or a range such as 18-20)")
            return None
        return list(range(bounds[0], bounds[-1] + 1))

    def choice(self, line: int, row: dict, column: str, choices: list[str], *, default: str | None = None):
        raw = row.get(column, "").lower()
        if not raw and default is not None:
            return default
        if raw not in choices:
            self.fail(line, column, f"“{row.get(column, '')}” is not one of {', '.join(choices)}")
            return None
        return raw

    def raise_if_errors(self) -> None:
        if self.errors:
            raise PricingImportError(self.errors)


def _fill(sheet: _Sheet, grids: dict, key, hours: list[int], value, line: int, label: str, column="hour") -> None:
    grid = grids.setdefault(key, {})
    for hour in hours:
        if hour in grid:
            sheet.fail(line, column, f"hour {hour} of {label} was already given on line {grid[hour][1]}")
        else:
            grid[hour] = (value, line)


def _complete(sheet: _Sheet, grids: dict, label_of) -> dict:
    """{key: [24 values]}, or errors naming the missing hours of each incomplete curve."""
    curves = {}
    for key, grid in grids.items():
        missing = [h for h in range(HOURS) if h not in grid]
        if missing:
            sheet.errors.append(f"{label_of(key)}: hours {', '.join(map(str, missing))} missing "
                                f"(a curve needs all 24 hours, 0 to 23)")
        else:
            curves[key] = [grid[h][0] for h in range(HOURS)]
    return curves


def _seasons_allowed(sheet: _Sheet, utility: Utility | None) -> None:
    if utility is not None and not utility.summer_months:
        for line, row in sheet.rows:
            if row.get("season", "").lower() in (Season.SUMMER, Season.WINTER):
                sheet.fail(line, "season", f"{utility} has no summer months set, so only season “all” applies")


@transaction.atomic
def load_curve_import(*, utility: Utility, text: str | bytes, unit: str) -> ImportResult:
    """Columns feeder, day_type (weekday/saturday/sunday), hour, load, and optionally season (all/summer/winter).
    `unit` "pu" or "kw". kW curves become p.u. over the feeder's base_kw (or the curve's own maximum when the
    feeder has none); p.u. curves get kW when the feeder has a base. Unknown feeder codes create feeders."""
    if unit not in ("pu", "kw"):
        raise PricingImportError([f"unit “{unit}” is not pu or kw"])
    sheet = _Sheet(text, required=["feeder", "day_type", "hour", "load"], optional=["season"])
    _seasons_allowed(sheet, utility)
    grids: dict = {}
    for line, row in sheet.rows:
        code = row["feeder"]
        if not code or len(code) > 40:
            sheet.fail(line, "feeder", "a feeder code of 1 to 40 characters is required")
        day_type = sheet.choice(line, row, "day_type", DAY_TYPES)
        season = sheet.choice(line, row, "season", SEASONS, default=Season.ALL)
        hours = sheet.hours(line, row)
        value = sheet.decimal(line, row, "load")
        if None in (day_type, season, hours, value) or not code or len(code) > 40:
            continue
        _fill(sheet, grids, (code, season, day_type), hours, value, line, f"feeder {code} {season} {day_type}")
    curves = _complete(sheet, grids, lambda k: f"feeder {k[0]} {k[1]} {k[2]}")
    for (code, season, day_type), values in curves.items():
        if unit == "kw" and max(values) == 0:
            sheet.errors.append(f"feeder {code} {season} {day_type}: every load is 0 kW, no p.u. can be derived")
    sheet.raise_if_errors()
    for (code, season, day_type), values in curves.items():
        feeder, _ = Feeder.objects.get_or_create(utility=utility, code=code)
        if unit == "kw":
            base = feeder.base_kw or max(values)
            load_kw = [str(v.quantize(KW_QUANTUM, rounding=ROUND_HALF_UP)) for v in values]
            load_pu = [str((v / base).quantize(PU_QUANTUM, rounding=ROUND_HALF_UP)) for v in values]
        else:
            load_pu = [str(v.quantize(PU_QUANTUM, rounding=ROUND_HALF_UP)) for v in values]
            load_kw = ([str((v * feeder.base_kw).quantize(KW_QUANTUM, rounding=ROUND_HALF_UP)) for v in values]
                       if feeder.base_kw else None)
        LoadCurve.objects.update_or_create(feeder=feeder, season=season, day_type=day_type,
                                           defaults={"load_pu": load_pu, "load_kw": load_kw})
    return ImportResult(lines=len(sheet.rows), curves=len(curves),
                        summary=f"{len(curves)} load curve(s) of {utility} imported ({unit})")


@transaction.atomic
def pv_curve_import(*, text: str | bytes, utility: Utility | None = None, site: Site | None = None,
                    peak_kwp: Decimal | None = None, performance_ratio: Decimal | None = None) -> ImportResult:
    """Global (utility) or local (site) PV. Columns hour and power_kw — or hour and ghi_w_m2 (mean global
    horizontal irradiance of the hour) with `peak_kwp` and `performance_ratio`, for the simple model
    kW = kWp × GHI / 1000 W/m² × PR. Optional column season."""
    if (utility is None) == (site is None):
        raise PricingImportError(["a PV curve is either global (give a utility) or local (give a site)"])
    irradiance = peak_kwp is not None or performance_ratio is not None
    if irradiance:
        problems = []
        if peak_kwp is None or peak_kwp <= 0:
            problems.append("the irradiance model needs the installed peak power in kWp (> 0)")
        if performance_ratio is None or not (Decimal("0") < performance_ratio <= Decimal("1")):
            problems.append("the irradiance model needs a performance ratio between 0 and 1 (typically 0.75–0.85)")
        if problems:
            raise PricingImportError(problems)
    column = "ghi_w_m2" if irradiance else "power_kw"
    sheet = _Sheet(text, required=["hour", column], optional=["season"])
    _seasons_allowed(sheet, utility)
    grids: dict = {}
    for line, row in sheet.rows:
        season = sheet.choice(line, row, "season", SEASONS, default=Season.ALL)
        hours = sheet.hours(line, row)
        value = sheet.decimal(line, row, column, maximum=Decimal("1500") if irradiance else None)
        if None in (season, hours, value):
            continue
        _fill(sheet, grids, season, hours, value, line, f"season {season}")
    curves = _complete(sheet, grids, lambda k: f"PV season {k}")
    sheet.raise_if_errors()
    for season, values in curves.items():
        if irradiance:
            values = [peak_kwp * v / Decimal("1000") * performance_ratio for v in values]
        power = [str(v.quantize(KW_QUANTUM, rounding=ROUND_HALF_UP)) for v in values]
        owner = {"utility": utility} if utility else {"site": site}
        PvCurve.objects.update_or_create(
            **owner, season=season,
            defaults={"power_kw": power, "source": PvCurve.Source.IRRADIANCE if irradiance else PvCurve.Source.CSV,
                      "peak_kwp": peak_kwp, "performance_ratio": performance_ratio},
        )
    where = f"global PV of {utility}" if utility else f"local PV of {site}"
    return ImportResult(lines=len(sheet.rows), curves=len(curves), summary=f"{len(curves)} curve(s) of {where}")


@transaction.atomic
def energy_tariff_import(*, utility: Utility, text: str | bytes) -> ImportResult:
    """Columns day_type (weekday/saturday/sunday/all), hour (0–23 or a range such as 18-20), period, price_per_kwh.
    A flat tariff is one line: all,0-23,flat,0.65. Each day type must end up with all 24 hours, once."""
    sheet = _Sheet(text, required=["day_type", "hour", "period", "price_per_kwh"])
    grids: dict = {}
    for line, row in sheet.rows:
        day_type = sheet.choice(line, row, "day_type", DAY_TYPES + ["all"])
        hours = sheet.hours(line, row)
        price = sheet.decimal(line, row, "price_per_kwh")
        period = row["period"]
        if not period or len(period) > 32:
            sheet.fail(line, "period", "a period label of 1 to 32 characters is required (e.g. ponta)")
            continue
        if None in (day_type, hours, price):
            continue
        for target in (DAY_TYPES if day_type == "all" else [day_type]):
            _fill(sheet, grids, target, hours, (price, period), line, target)
    curves = _complete(sheet, grids, lambda k: f"day type {k}")
    missing_types = [d for d in DAY_TYPES if d not in grids]
    if missing_types:
        sheet.errors.append(f"no prices for {', '.join(missing_types)} (use day_type “all” for every day)")
    sheet.raise_if_errors()
    for day_type, values in curves.items():
        EnergyTariff.objects.update_or_create(
            utility=utility, day_type=day_type,
            defaults={"price_per_kwh": [str(price) for price, _ in values], "periods": [p for _, p in values]},
        )
    return ImportResult(lines=len(sheet.rows), curves=len(curves),
                        summary=f"energy tariff of {utility} imported for {len(curves)} day types")


@transaction.atomic
def occupancy_default_import(*, organization: Organization, text: str | bytes) -> ImportResult:
    """Columns day_type (weekday/saturday/sunday/all), hour, share (0–1 of the connectors in use)."""
    sheet = _Sheet(text, required=["day_type", "hour", "share"])
    grids: dict = {}
    for line, row in sheet.rows:
        day_type = sheet.choice(line, row, "day_type", DAY_TYPES + ["all"])
        hours = sheet.hours(line, row)
        share = sheet.decimal(line, row, "share", maximum=Decimal("1"))
        if None in (day_type, hours, share):
            continue
        for target in (DAY_TYPES if day_type == "all" else [day_type]):
            _fill(sheet, grids, target, hours, share, line, target)
    curves = _complete(sheet, grids, lambda k: f"day type {k}")
    sheet.raise_if_errors()
    for day_type, values in curves.items():
        OccupancyDefault.objects.update_or_create(organization=organization, day_type=day_type,
                                                  defaults={"shares": [str(v) for v in values]})
    return ImportResult(lines=len(sheet.rows), curves=len(curves),
                        summary=f"default occupancy of {organization} imported for {len(curves)} day types")
