"""The ChaZeMo seed's June table for charger zcs031903 (Lugar n°3012), reproduced from meter data.

Seed (003): Verão/Semana Cheia 1 6.867 kWh × €0.227756 = €1.56; Cheia 2 222.036 × 0.227756 = €50.57; Ponta
45.730 × 0.245102 = €11.21; Super Vazio 1.257 × 0.197780 = €0.25; Vazio 1 19.029 × 0.198418 = €3.78;
Verão/Sábado Cheia 1 3.140 × 0.227756 = €0.72; Verão/Domingo Vazio 1 19.412 × 0.198418 = €3.85, Vazio 2 42.547 ×
0.198418 = €8.44; €80.38 total (360.018 kWh). Checked: every line is its kWh × price rounded half-up to the cent
(1.564000452 → 1.56, 50.570031216 → 50.57, 11.208514460 → 11.21, 0.248609460 → 0.25, 3.775696122 → 3.78,
0.715153840 → 0.72, 3.851690216 → 3.85, 8.442090646 → 8.44); the lines sum to 80.38 and the kWh to 360.018 (the
seed's "Total carregado … 360.02kWh" is the same figure rounded to 10 Wh). The unrounded sum, 80.375786412, also
rounds to 80.38, so the seed does not tell sum-of-rounded from rounded-sum apart; evnet uses sum of rounded lines.
"""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from apps.tariffs.calendars import energy_split_by_period, period_at
from apps.tariffs.engine.calendar import CalendarSpec
from apps.tariffs.engine.ocpi import tariff_spec_from_ocpi
from apps.tariffs.engine.rating import Reading, rate

from .helpers import CALENDARS, DATA, LISBON, D, local

SEED_LINES = [  # (season, day type, period, kWh, €/kWh, €)
    ("SUMMER", "WEEKDAY", "Cheia 1", "6.867", "0.227756", "1.56"),
    ("SUMMER", "WEEKDAY", "Cheia 2", "222.036", "0.227756", "50.57"),
    ("SUMMER", "WEEKDAY", "Ponta", "45.730", "0.245102", "11.21"),
    ("SUMMER", "WEEKDAY", "Super Vazio", "1.257", "0.197780", "0.25"),
    ("SUMMER", "WEEKDAY", "Vazio 1", "19.029", "0.198418", "3.78"),
    ("SUMMER", "SATURDAY", "Cheia 1", "3.140", "0.227756", "0.72"),
    ("SUMMER", "SUNDAY", "Vazio 1", "19.412", "0.198418", "3.85"),
    ("SUMMER", "SUNDAY", "Vazio 2", "42.547", "0.198418", "8.44"),
]
# Where each bucket's charging happened in June 2026 (local wall times inside the period, one window per day).
WHERE = {
    ("WEEKDAY", "Cheia 1"): [(2, 7, 30), (9, 8, 0)],
    ("WEEKDAY", "Cheia 2"): [(d, 19, 0) for d in (1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 15, 16, 17, 18, 19, 22, 23)],
    ("WEEKDAY", "Ponta"): [(d, 10, 0) for d in (3, 10, 17, 24, 25)],
    ("WEEKDAY", "Super Vazio"): [(4, 3, 0)],
    ("WEEKDAY", "Vazio 1"): [(d, 0, 30) for d in (2, 9, 16)],
    ("SATURDAY", "Cheia 1"): [(13, 10, 0)],
    ("SUNDAY", "Vazio 1"): [(d, 0, 30) for d in (7, 14, 21)],
    ("SUNDAY", "Vazio 2"): [(d, 15, 0) for d in (7, 14, 21, 28)],
}


def june_readings() -> list[Reading]:
    """Cumulative meter readings of zcs031903 over June 2026: each charge is one hour inside its period; the
    bucket's energy is shared between its charges in whole Wh."""
    charges = []
    for season, day_type, period, kwh, _price, _eur in SEED_LINES:
        slots = WHERE[(day_type, period)]
        total = int(Decimal(kwh) * 1000)
        for i, (day, hour, minute) in enumerate(slots):
            share = total // len(slots) + (total % len(slots) if i == len(slots) - 1 else 0)
            start = local(LISBON, 2026, 6, day, hour, minute)
            charges.append((start, share))
    charges.sort()
    meter = 1_234_567
    readings = []
    for start, wh in charges:
        readings.append(Reading(start, meter))
        meter += wh
        readings.append(Reading(start + timedelta(minutes=50), meter))
    return readings


def test_charges_sit_in_the_periods_the_seed_names():
    calendar = CalendarSpec.from_dict(CALENDARS["chazemo-tejo-weekly"])
    assert period_at(calendar=calendar, at=local(LISBON, 2026, 6, 3, 9, 14), time_zone="Europe/Lisbon") == "Cheia 1"
    assert period_at(calendar=calendar, at=local(LISBON, 2026, 6, 3, 9, 15), time_zone="Europe/Lisbon") == "Ponta"
    assert period_at(calendar=calendar, at=local(LISBON, 2026, 6, 3, 23, 59), time_zone="Europe/Lisbon") == "Cheia 2"
    assert period_at(calendar=calendar, at=local(LISBON, 2026, 6, 6, 9, 0), time_zone="Europe/Lisbon") == "Cheia 1"


def test_energy_split_by_period_gives_the_seed_kwh():
    calendar = CalendarSpec.from_dict(CALENDARS["chazemo-tejo-weekly"])
    split = energy_split_by_period(calendar=calendar, readings=june_readings(), time_zone="Europe/Lisbon")
    assert split == {(s, d, p): int(Decimal(kwh) * 1000) for s, d, p, kwh, _, _ in SEED_LINES}
    assert sum(split.values()) == 360018


def test_chazemo_june_table_for_zcs031903_comes_out_exactly():
    tariff = json.loads((DATA / "chazemo-tejo-tariff.json").read_text(encoding="utf-8"), parse_float=Decimal)
    tariff["evnet_tou_calendar"] = CALENDARS["chazemo-tejo-weekly"]
    spec = tariff_spec_from_ocpi(tariff)
    readings = june_readings()
    result = rate(tariff=spec, readings=readings, started_at=readings[0].at, stopped_at=readings[-1].at,
                  time_zone="Europe/Lisbon", user_group="resident")
    got = sorted((ln.season, ln.day_type, ln.period, ln.quantity, ln.unit_price, ln.amount_rounded)
                 for ln in result.lines)
    want = sorted((s, d, p, D(kwh), D(price), D(eur)) for s, d, p, kwh, price, eur in SEED_LINES)
    assert got == want
    assert result.total_excl_vat == D("80.38")
    assert result.total_energy_wh == 360018
    assert result.total_vat == D("0")  # the retailer's prices as billed: no VAT added on top
