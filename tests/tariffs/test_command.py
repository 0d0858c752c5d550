"""python manage.py rate_session: JSON out in OCPI CDR field names; bad input → stderr message and exit code 2."""
from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from .helpers import CALENDARS

TARIFF = {"id": "cli", "currency": "EUR", "evnet_vat_rate": 23, "evnet_parking_grace_period_s": 600,
          "evnet_tou_calendar": CALENDARS["erse-btn-weekly-tri"], "elements": [
              {"price_components": [{"type": "ENERGY", "price": 0.2451, "step_size": 1}],
               "restrictions": {"evnet_tou_periods": ["Ponta"]}},
              {"price_components": [{"type": "ENERGY", "price": 0.1984, "step_size": 1},
                                    {"type": "PARKING_TIME", "price": 6, "step_size": 1}]}]}
# Wed 3 Jun 2026 08:15–09:15 UTC = 09:15–10:15 Lisbon (Ponta), 7 kWh; charging ended 09:15 UTC, left 09:45 UTC.
SESSION = {"started_at": "2026-06-03T08:15:00Z", "stopped_at": "2026-06-03T09:45:00Z",
           "charging_ended_at": "2026-06-03T09:15:00Z", "time_zone": "Europe/Lisbon",
           "readings": [{"at": "2026-06-03T08:15:00Z", "energy_wh": 1000},
                        {"at": "2026-06-03T09:15:00Z", "energy_wh": 8000}]}
CDR = {"id": "CDR1", "currency": "EUR", "start_date_time": "2026-06-03T08:15:00Z",
       "end_date_time": "2026-06-03T09:45:00Z", "cdr_location": {"country": "PRT"},
       "total_cost": {"excl_vat": 3.0, "incl_vat": 3.69},
       "charging_periods": [
           {"start_date_time": "2026-06-03T08:15:00Z", "dimensions": [{"type": "ENERGY", "volume": 7},
                                                                      {"type": "TIME", "volume": 1}]},
           {"start_date_time": "2026-06-03T09:15:00Z", "dimensions": [{"type": "PARKING_TIME", "volume": 0.5}]}]}


def run(tmp_path, tariff=TARIFF, session=SESSION, *, kind="session", extra=()):
    tpath, spath = tmp_path / "tariff.json", tmp_path / f"{kind}.json"
    tpath.write_text(tariff if isinstance(tariff, str) else json.dumps(tariff))
    spath.write_text(session if isinstance(session, str) else json.dumps(session))
    out = StringIO()
    call_command("rate_session", "--tariff", str(tpath), f"--{kind}", str(spath), *extra, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_rate_session_prints_ocpi_cdr_totals(tmp_path):
    # 7 kWh Ponta × 0.2451 = 1.7157 → 1.72; parking 30 min − 10 min grace = 20 min × 6 €/h = 2.00.
    # VAT 23 %: 0.3956 → 0.40 and 0.46 → 0.86; total 3.72 excl, 4.58 incl.
    out = run(tmp_path)
    assert out["total_cost"] == {"excl_vat": 3.72, "incl_vat": 4.58}
    assert (out["total_energy"], out["total_time"], out["total_parking_time"]) == (7, 1.5, 0.5)
    assert out["total_energy_cost"] == {"excl_vat": 1.72, "incl_vat": 2.12}
    assert out["total_parking_cost"] == {"excl_vat": 2, "incl_vat": 2.46}
    assert out["total_fixed_cost"] is None and out["total_time_cost"] is None
    assert [(ln["dimension"], ln["period"], ln["amount_rounded"]) for ln in out["lines"]] == [
        ("ENERGY", "Ponta", 1.72), ("PARKING_TIME", "Ponta", 2)]


@pytest.mark.django_db
def test_rate_session_reprices_an_ocpi_cdr(tmp_path):
    out = run(tmp_path, session=CDR, kind="cdr")
    assert out["total_cost"] == {"excl_vat": 3.72, "incl_vat": 4.58}
    assert out["time_zone"] == "Europe/Lisbon" and out["difference_excl_vat"] == 0.72


BAD = [
    ("malformed JSON", TARIFF, '{"started_at": ', "not valid JSON"),
    ("unknown currency", {**TARIFF, "currency": "ABC"}, SESSION, "not an ISO 4217 currency"),
    ("overlapping restrictions", {**TARIFF, "elements": [
        {"price_components": [{"type": "ENERGY", "price": 1, "step_size": 1}],
         "restrictions": {"start_time": "08:00", "end_time": "12:00"}},
        {"price_components": [{"type": "ENERGY", "price": 2, "step_size": 1}],
         "restrictions": {"start_time": "11:00", "end_time": "13:00"}}]}, SESSION, "overlapping times"),
    ("readings back in time", TARIFF, {**SESSION, "readings": list(reversed(SESSION["readings"]))},
     "back in time"),
    ("meter going backwards", TARIFF, {**SESSION, "readings": [{"at": "2026-06-03T08:15:00Z", "energy_wh": 9000},
                                                               {"at": "2026-06-03T09:15:00Z", "energy_wh": 8000}]},
     "meter goes backwards"),
    ("missing field", TARIFF, {k: v for k, v in SESSION.items() if k != "stopped_at"}, "no “stopped_at”"),
    ("naive timestamp", TARIFF, {**SESSION, "started_at": "2026-06-03T08:15:00"}, "no UTC offset"),
    ("no time zone", TARIFF, {k: v for k, v in SESSION.items() if k != "time_zone"}, "--time-zone"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case, tariff, session, message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_exits_2_with_a_clear_message(tmp_path, case, tariff, session, message):
    with pytest.raises(CommandError, match=message) as info:
        run(tmp_path, tariff, session)
    assert info.value.returncode == 2


@pytest.mark.django_db
def test_meter_reset_is_priced_when_accepted(tmp_path):
    session = {**SESSION, "readings": [{"at": "2026-06-03T08:15:00Z", "energy_wh": 9000},
                                       {"at": "2026-06-03T08:45:00Z", "energy_wh": 10000},
                                       {"at": "2026-06-03T08:50:00Z", "energy_wh": 0},
                                       {"at": "2026-06-03T09:15:00Z", "energy_wh": 500}]}
    out = run(tmp_path, session=session, extra=("--accept-meter-reset",))
    assert out["total_energy"] == 1.5 and "meter_reset" in out["anomalies"]


@pytest.mark.django_db
def test_tariff_ocpi_import_then_export(tmp_path, shipped_calendars):
    from tests.factories import OrganizationFactory

    org = OrganizationFactory(slug="tejo")
    path = tmp_path / "t.json"
    path.write_text(json.dumps({**TARIFF, "evnet_tou_calendar": "erse-btn-weekly-tri"}))
    out = StringIO()
    call_command("tariff_ocpi", "import", str(path), "--organization", "tejo",
                 "--valid-from", "2026-01-01T00:00:00Z", stdout=out)
    assert out.getvalue().startswith("cli v1 (EUR, VAT 23.00 %)")
    out = StringIO()
    call_command("tariff_ocpi", "export", "--organization", "tejo", "--tariff", "cli", stdout=out)
    exported = json.loads(out.getvalue())
    assert exported["id"] == "cli" and exported["evnet_tou_calendar"]["code"] == "erse-btn-weekly-tri"
    assert exported["elements"] == TARIFF["elements"]
    with pytest.raises(CommandError, match="No tariff") as info:
        call_command("tariff_ocpi", "export", "--organization", org.slug, "--tariff", "nope")
    assert info.value.returncode == 2


@pytest.mark.django_db
def test_load_tou_calendars_refuses_a_calendar_with_an_overlap(tmp_path):
    calendar = json.loads(json.dumps(CALENDARS["br-branca-enel-sp"]))
    calendar["windows"][0]["end"] = "17:30"  # Fora de ponta now overlaps Intermediário 17:00–18:00
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"calendars": [calendar]}))
    with pytest.raises(CommandError, match="overlap at 17:00") as info:
        call_command("load_tou_calendars", str(path))
    assert info.value.returncode == 2
    out = StringIO()
    call_command("load_tou_calendars", stdout=out)
    assert "br-branca-enel-sp: 7 windows" in out.getvalue()
