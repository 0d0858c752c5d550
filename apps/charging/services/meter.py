"""Meter values: unit conversion to evnet's integers and the energy register arithmetic.

Every sampled value is stored as an integer in a fixed unit: Wh / varh for energy, W / var for power, % for SoC,
mA for current, mV for voltage, m°C for temperature, mHz for frequency, ‰ for the power factor, rpm for fans
(OCPP 1.6 §7.31/§7.45 name the charger's units; kWh, kW, A, V, Celsius, Fahrenheit, K and Hz are converted).

Billable energy is the sum of the non-negative increments of Energy.Active.Import.Register between consecutive
readings. A reading below the previous one (meter replaced, register reset) or an increment the connector cannot
physically deliver is flagged, and never billed negative: after a reset to zero the new register value counts
(it is the energy since the reset), anything else counts zero and waits for a clerk."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ENERGY_REGISTER = "Energy.Active.Import.Register"
POWER_ACTIVE_IMPORT = "Power.Active.Import"
# Below this, a connector is "not delivering" (car full or paused): idle fees count from then.
IDLE_POWER_W = 50
# Used when neither the connector nor the station says how much power it can deliver (an HPC charger's order).
DEFAULT_MAX_POWER_W = 400_000
# Slack on top of the connector's rating before an increment counts as an implausible jump (metering tolerance,
# clock skew between samples).
JUMP_TOLERANCE = Decimal("1.25")
JUMP_SLACK_WH = 100

_DEFAULT_UNIT = {
    "Energy": "Wh", "Power.Active": "W", "Power.Offered": "W", "Power.Reactive": "var", "Current": "A",
    "Voltage": "V", "Temperature": "Celsius", "SoC": "Percent", "Frequency": "Hz", "Power.Factor": "",
    "RPM": "",
}
# unit as sent → (stored unit, factor)
_CONVERSIONS = {
    "Wh": ("Wh", Decimal(1)), "kWh": ("Wh", Decimal(1000)),
    "varh": ("varh", Decimal(1)), "kvarh": ("varh", Decimal(1000)),
    "W": ("W", Decimal(1)), "kW": ("W", Decimal(1000)),
    "var": ("var", Decimal(1)), "kvar": ("var", Decimal(1000)), "VA": ("VA", Decimal(1)), "kVA": ("VA", Decimal(1000)),
    "A": ("mA", Decimal(1000)), "V": ("mV", Decimal(1000)),
    "Percent": ("%", Decimal(1)), "Celsius": ("m°C", Decimal(1000)), "Hz": ("mHz", Decimal(1000)),
}


@dataclass(frozen=True)
class Sample:
    """One sampled value converted to evnet's integer units."""

    sampled_at: datetime
    measurand: str
    value: int
    unit: str
    phase: str = ""
    location: str = ""
    context: str = ""


def _default_unit(measurand: str) -> str:
    for prefix, unit in _DEFAULT_UNIT.items():
        if measurand.startswith(prefix):
            return unit
    return ""


def sample_convert(*, raw_value: str, measurand: str, unit: str | None) -> tuple[int, str] | None:
    """(integer value, stored unit) for a sampled value, or None when the value is not a number (format
    SignedData, garbage). Rounds half up to the integer unit."""
    try:
        number = Decimal(str(raw_value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    unit = unit or _default_unit(measurand)
    if unit == "Fahrenheit":
        number, stored, factor = (number - 32) * 5 / 9, "m°C", Decimal(1000)
    elif unit == "K":
        number, stored, factor = number - Decimal("273.15"), "m°C", Decimal(1000)
    elif measurand == "Power.Factor":
        stored, factor = "‰", Decimal(1000)
    elif measurand == "Frequency" and not unit:
        stored, factor = "mHz", Decimal(1000)
    elif measurand == "RPM" or not unit:
        stored, factor = "rpm" if measurand == "RPM" else "", Decimal(1)
    elif unit in _CONVERSIONS:
        stored, factor = _CONVERSIONS[unit]
    else:
        return None
    value = int((number * factor).to_integral_value(rounding=ROUND_HALF_UP))
    if abs(value) >= 2**63:
        return None
    return value, stored


def parse_timestamp(value: str | None, *, default: datetime) -> datetime:
    """An OCPP dateTime (RFC 3339) as an aware UTC datetime; a time without offset is taken as UTC."""
    if not value:
        return default
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return default
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt_timezone.utc)
    return parsed.astimezone(dt_timezone.utc)


def meter_values_parse(*, meter_value: list[dict], default_at: datetime) -> tuple[list[Sample], int]:
    """Flatten OCPP MeterValue objects into Samples. Returns (samples, number of values skipped because they were
    not numbers)."""
    samples: list[Sample] = []
    skipped = 0
    for entry in meter_value:
        at = parse_timestamp(entry.get("timestamp"), default=default_at)
        for sampled in entry.get("sampledValue") or ():
            measurand = sampled.get("measurand") or ENERGY_REGISTER
            if sampled.get("format") == "SignedData":
                skipped += 1
                continue
            converted = sample_convert(raw_value=sampled.get("value", ""), measurand=measurand,
                                       unit=sampled.get("unit"))
            if converted is None:
                skipped += 1
                continue
            value, unit = converted
            samples.append(Sample(sampled_at=at, measurand=measurand, value=value, unit=unit,
                                  phase=sampled.get("phase") or "", location=sampled.get("location") or "",
                                  context=sampled.get("context") or ""))
    return samples, skipped


def is_energy_register(sample: Sample) -> bool:
    """The total active-import register (no phase; at the outlet or unspecified) drives billing."""
    return (sample.measurand == ENERGY_REGISTER and not sample.phase
            and sample.location in ("", "Outlet") and sample.unit == "Wh")


def active_power_w(samples: list[Sample]) -> tuple[datetime, int] | None:
    """The last active import power among samples: the phase-less value, else the sum of the phases L1..L3."""
    total: dict[datetime, int] = {}
    phases: dict[datetime, int] = {}
    for sample in samples:
        if sample.measurand != POWER_ACTIVE_IMPORT or sample.unit != "W":
            continue
        if not sample.phase:
            total[sample.sampled_at] = sample.value
        elif sample.phase in ("L1", "L2", "L3", "L1-N", "L2-N", "L3-N"):
            phases[sample.sampled_at] = phases.get(sample.sampled_at, 0) + sample.value
    merged = {**phases, **total}
    if not merged:
        return None
    at = max(merged)
    return at, max(0, merged[at])


@dataclass
class EnergyStep:
    increment_wh: int
    anomaly: str | None = None
    detail: str = ""


def energy_step(*, previous_wh: int, previous_at: datetime, reading_wh: int, reading_at: datetime,
                max_power_w: int | None) -> EnergyStep:
    """The billable energy between two consecutive register readings, and the anomaly if any."""
    elapsed_s = max(0.0, (reading_at - previous_at).total_seconds())
    power = Decimal(max_power_w or DEFAULT_MAX_POWER_W)
    plausible_wh = int(power * JUMP_TOLERANCE * Decimal(elapsed_s) / 3600) + JUMP_SLACK_WH
    delta = reading_wh - previous_wh
    if delta < 0:
        if 0 <= reading_wh <= plausible_wh:
            return EnergyStep(reading_wh, "meter_backwards",
                              f"register went from {previous_wh} Wh to {reading_wh} Wh (reset to zero): "
                              f"counted {reading_wh} Wh")
        return EnergyStep(0, "meter_backwards",
                          f"register went from {previous_wh} Wh to {reading_wh} Wh (meter replaced?): counted 0 Wh")
    if delta > plausible_wh:
        return EnergyStep(0, "meter_jump",
                          f"register jumped {delta} Wh in {int(elapsed_s)} s (at most {plausible_wh} Wh possible "
                          f"at {int(power)} W): counted 0 Wh")
    return EnergyStep(delta)


@dataclass
class EnergyTotal:
    energy_wh: int = 0
    anomalies: list[tuple[str, str]] = field(default_factory=list)
    last_increase_at: datetime | None = None


def energy_from_readings(*, readings: list[tuple[datetime, int]], max_power_w: int | None) -> EnergyTotal:
    """Billable energy over readings sorted by time (start, samples, stop): the sum of energy_step increments."""
    total = EnergyTotal()
    previous: tuple[datetime, int] | None = None
    for at, wh in readings:
        if previous is not None:
            step = energy_step(previous_wh=previous[1], previous_at=previous[0], reading_wh=wh, reading_at=at,
                               max_power_w=max_power_w)
            total.energy_wh += step.increment_wh
            if step.increment_wh > 0:
                total.last_increase_at = at
            if step.anomaly:
                total.anomalies.append((step.anomaly, step.detail))
        previous = (at, wh)
    return total
