"""The ChaZeMo seed (003) June table for charger zcs031903 at Lugar n°3012, as meter data.

Each session is a list of cumulative register readings at local (Europe/Lisbon, summer: UTC+1) wall-clock times.
No step exceeds what a 7.4 kW charger can deliver, so the charging app bills every Wh. Per-period energy by hand
(chazemo-tejo-weekly calendar; "x|y" marks a boundary between two readings, split by linear interpolation):

  weekday Vazio 1      S1 12 350 (00:10–01:50 11 800 + half of 01:50|02:10 1 100 = 550) + S3 6 679    = 19 029
  weekday Super Vazio  S1 550 (other half) + 02:10–02:30 707                                         =  1 257
  weekday Cheia 1      S2 5 867 (08:00–09:05) + half of 09:05|09:25 2 000 = 1 000                      =  6 867
  weekday Ponta        S2 1 000 + 19 000 (09:25–12:15) + S4 20 000 + S5 5 230 + half of 12:00|12:30 500 = 45 730
  weekday Cheia 2      S5 500 + 3 000 + S6 73 000 + S7 75 000 + S8 70 536                              = 222 036
  Saturday Cheia 1     S9 3 140                                                                          =  3 140
  Sunday Vazio 1       S10 14 000 + S11 5 412                                                            = 19 412
  Sunday Vazio 2       S12 42 547                                                                        = 42 547
                                                                                              total 360 018 Wh

Prices (the seed's retailer, excl. VAT): Cheia 0.227756, Ponta 0.245102, Super Vazio 0.197780, Vazio 0.198418 €/kWh.
Lines: 6.867×0.227756 = 1.5640 → 1.56; 222.036×0.227756 = 50.5700 → 50.57; 45.730×0.245102 = 11.2085 → 11.21;
1.257×0.197780 = 0.2486 → 0.25; 19.029×0.198418 = 3.7757 → 3.78; 3.140×0.227756 = 0.7152 → 0.72;
19.412×0.198418 = 3.8517 → 3.85; 42.547×0.198418 = 8.4421 → 8.44; sum of rounded lines = €80.38 for 360.018 kWh.
(The seed agrees with itself: its lines sum to 80.38 and 360.018; the 360.02 kWh "Total carregado" is the same
figure with 2 decimals.)
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LISBON = ZoneInfo("Europe/Lisbon")

PRICES = {"Cheia": "0.227756", "Ponta": "0.245102", "Super Vazio": "0.197780", "Vazio": "0.198418"}


def hourly(start_hour: int, hours: int, wh_per_hour: int, first: int = 0) -> list[tuple[str, int]]:
    return [(f"{start_hour + i:02d}:00", first + wh_per_hour * i) for i in range(hours + 1)]


# (user key, day, [(local HH:MM, cumulative Wh since the start), ...]); the first reading is the start, the last
# the stop.
SESSIONS = [
    ("ana", date(2026, 6, 1), [("00:10", 0), ("01:10", 7000), ("01:50", 11800), ("02:10", 12900), ("02:30", 13607)]),
    ("rui", date(2026, 6, 1), [("08:00", 0), ("09:05", 5867), ("09:25", 7867), ("12:15", 26867)]),
    ("ana", date(2026, 6, 2), [("00:30", 0), ("01:00", 3000), ("01:45", 6679)]),
    ("ana", date(2026, 6, 3), [("09:15", 0), ("10:45", 10000), ("12:15", 20000)]),
    ("rui", date(2026, 6, 5), [("10:00", 0), ("11:00", 4000), ("12:00", 5230), ("12:30", 6230), ("13:00", 9230)]),
    ("ana", date(2026, 6, 1), hourly(13, 10, 7000) + [("23:30", 73000)]),
    ("rui", date(2026, 6, 2), hourly(13, 10, 7000) + [("23:45", 75000)]),
    ("ana", date(2026, 6, 3), hourly(13, 10, 7000) + [("23:05", 70536)]),
    ("rui", date(2026, 6, 6), [("10:00", 0), ("10:30", 1570), ("11:00", 3140)]),
    ("ana", date(2026, 6, 7), [("00:00", 0), ("01:00", 7000), ("02:00", 14000)]),
    ("rui", date(2026, 6, 14), [("01:00", 0), ("01:50", 5412)]),
    ("rui", date(2026, 6, 7), hourly(10, 6, 7000) + [("16:05", 42547)]),
]


def local(day: date, hhmm: str) -> datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=LISBON).astimezone(ZoneInfo("UTC"))


def ocpi_tariff(*, calendar: dict | str) -> dict:
    """The retailer's prices as an OCPI 2.2.1 Tariff on the ChaZeMo calendar (evnet_tou_periods elements)."""
    def element(price: str, periods: list[str]) -> dict:
        return {"price_components": [{"type": "ENERGY", "price": price, "step_size": 1}],
                "restrictions": {"evnet_tou_periods": periods}}

    return {
        "country_code": "PT", "party_id": "EVN", "id": "chazemo-tejo-residents", "currency": "EUR",
        "type": "REGULAR", "evnet_tou_calendar": calendar, "evnet_vat_rate": "23",
        "elements": [
            element(PRICES["Cheia"], ["Cheia 1", "Cheia 2"]),
            element(PRICES["Ponta"], ["Ponta"]),
            element(PRICES["Super Vazio"], ["Super Vazio"]),
            element(PRICES["Vazio"], ["Vazio 1", "Vazio 2", "Vazio 3", "Vazio 4"]),
        ],
        "last_updated": "2026-05-01T00:00:00Z",
    }


# The seed's table, line by line: (group, period, hours, "kWh x €price €amount").
EXPECTED_LINES = [
    ("Verão/Semana", "Cheia 1", "07.00-09.15", "6.867 kWh x €0.227756 €1.56"),
    ("Verão/Semana", "Cheia 2", "12.15-23.59", "222.036 kWh x €0.227756 €50.57"),
    ("Verão/Semana", "Ponta", "09.15-12.15", "45.730 kWh x €0.245102 €11.21"),
    ("Verão/Semana", "Super Vazio", "02.00-06.00", "1.257 kWh x €0.197780 €0.25"),
    ("Verão/Semana", "Vazio 1", "00.00-02.00", "19.029 kWh x €0.198418 €3.78"),
    ("Verão/Sabado", "Cheia 1", "09.00-14.00", "3.140 kWh x €0.227756 €0.72"),
    ("Verão/Domingo", "Vazio 1", "00.00-02.00", "19.412 kWh x €0.198418 €3.85"),
    ("Verão/Domingo", "Vazio 2", "06.00-23.59", "42.547 kWh x €0.198418 €8.44"),
]
