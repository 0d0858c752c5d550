"""Value types of the tariff engine (contract 3). Pure Python: no Django, no database.

Units: energy is int Wh, durations int seconds, money Decimal in the tariff's currency, times aware UTC datetimes.
OCPI quantities (kWh, hours) appear only in `RatedLine.quantity` and in `RatingResult.cdr_totals()`."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

ENERGY = "ENERGY"
FLAT = "FLAT"
TIME = "TIME"
PARKING_TIME = "PARKING_TIME"
DIMENSIONS = (ENERGY, FLAT, TIME, PARKING_TIME)

DAYS_OF_WEEK = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


@dataclass(frozen=True, slots=True)
class Reading:
    """A cumulative meter register value (Wh) at a UTC moment."""

    at: datetime
    energy_wh: int


@dataclass(frozen=True, slots=True)
class HourPrice:
    """One hour of an externally supplied dynamic price (ANEEL dynamic price from apps.pricing)."""

    start_at: datetime
    energy_per_kwh: Decimal
    idle_per_minute: Decimal = Decimal("0")
    fixed: Decimal = Decimal("0")


@dataclass(frozen=True)
class PriceSchedule:
    """Hourly prices for dynamic tariff elements. mode "at_start": the hour containing the session start prices the
    whole session; "hourly": each hour's energy/idle time is priced at that hour's price."""

    hours: list[HourPrice]
    mode: str = "at_start"


@dataclass(frozen=True, slots=True)
class Price:
    """OCPI Price: an amount without and (optionally) with VAT."""

    excl_vat: Decimal
    incl_vat: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PriceComponent:
    """OCPI PriceComponent. `price` is per kWh (ENERGY), per hour (TIME, PARKING_TIME) or per session (FLAT), excl.
    VAT. `vat` None = OCPI "no VAT applicable" unless the tariff carries `evnet_vat_rate`. `step_size` in Wh for
    ENERGY, seconds for TIME/PARKING_TIME. `evnet_dynamic`: take the price from the PriceSchedule instead."""

    type: str
    price: Decimal
    vat: Decimal | None = None
    step_size: int = 1
    evnet_dynamic: bool = False


@dataclass(frozen=True, slots=True)
class Restrictions:
    """OCPI TariffRestrictions plus evnet extensions (see README, "Tariffs"). Times "HH:MM" local; dates local
    (start inclusive, end exclusive); kWh, A, kW as Decimal; durations in seconds."""

    start_time: str | None = None
    end_time: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: tuple[str, ...] | None = None
    reservation: str | None = None
    evnet_holiday: bool | None = None
    evnet_tou_periods: tuple[str, ...] | None = None
    evnet_user_groups: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class TariffElement:
    price_components: tuple[PriceComponent, ...]
    restrictions: Restrictions | None = None


@dataclass(frozen=True)
class TariffSpec:
    """A validated, immutable tariff (one TariffVersion). Build it with `engine.ocpi.tariff_spec_from_ocpi`."""

    currency: str
    elements: tuple[TariffElement, ...]
    min_price: Price | None = None
    max_price: Price | None = None
    tariff_id: str = ""
    version_id: int | None = None
    vat_rate: Decimal | None = None
    parking_grace_s: int = 0
    calendar: object | None = None  # engine.calendar.CalendarSpec
    holiday_country: str | None = None
    holiday_subdiv: str | None = None
    ocpi: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RatedLine:
    """One priced line. quantity: kWh (ENERGY), hours (TIME, PARKING_TIME), 1 (FLAT, min/max price adjustment);
    quantity_raw: Wh or seconds. amount = unrounded Decimal; amount_rounded = ROUND_HALF_UP to the minor unit.
    vat_amount = amount_rounded × vat_rate, rounded the same way."""

    dimension: str
    period: str
    quantity: Decimal
    quantity_raw: int
    unit_price: Decimal
    amount: Decimal
    amount_rounded: Decimal
    vat_rate: Decimal | None
    vat_amount: Decimal
    season: str = ""
    day_type: str = ""
    element_index: int = -1
    flags: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {
            "dimension": self.dimension, "period": self.period, "season": self.season, "day_type": self.day_type,
            "quantity": str(self.quantity), "unit_price": str(self.unit_price), "amount": str(self.amount),
            "quantity_raw": self.quantity_raw, "amount_rounded": str(self.amount_rounded),
            "vat_rate": None if self.vat_rate is None else str(self.vat_rate),
            "vat_amount": str(self.vat_amount), "element_index": self.element_index, "flags": list(self.flags),
        }


@dataclass(frozen=True)
class RatingResult:
    """The price of one session. total_excl_vat = Σ line.amount_rounded; total_vat = Σ line.vat_amount."""

    currency: str
    lines: tuple[RatedLine, ...]
    total_excl_vat: Decimal
    total_vat: Decimal
    total_incl_vat: Decimal
    total_energy_wh: int
    total_time_s: int
    total_parking_time_s: int
    anomalies: tuple[str, ...] = ()
    tariff_id: str = ""
    version_id: int | None = None

    def dimension_cost(self, dimension: str) -> Price | None:
        lines = [ln for ln in self.lines if ln.dimension == dimension]
        if not lines:
            return None
        excl = sum((ln.amount_rounded for ln in lines), Decimal("0"))
        vat = sum((ln.vat_amount for ln in lines), Decimal("0"))
        return Price(excl, excl + vat)

    def cdr_totals(self) -> dict:
        """OCPI 2.2.1 CDR totals (kWh and hours as Decimal, Price objects as dicts)."""

        def price(p: Price | None):
            return None if p is None else {"excl_vat": p.excl_vat, "incl_vat": p.incl_vat}

        return {
            "currency": self.currency,
            "total_cost": {"excl_vat": self.total_excl_vat, "incl_vat": self.total_incl_vat},
            "total_fixed_cost": price(self.dimension_cost(FLAT)),
            "total_energy": Decimal(self.total_energy_wh) / 1000,
            "total_energy_cost": price(self.dimension_cost(ENERGY)),
            "total_time": (Decimal(self.total_time_s) / 3600).quantize(Decimal("0.000001")),
            "total_time_cost": price(self.dimension_cost(TIME)),
            "total_parking_time": (Decimal(self.total_parking_time_s) / 3600).quantize(Decimal("0.000001")),
            "total_parking_cost": price(self.dimension_cost(PARKING_TIME)),
        }
