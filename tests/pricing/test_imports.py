"""CSV imports of the formula's inputs: what is stored, and bad files refused whole with line and column named."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.pricing.exceptions import PricingImportError
from apps.pricing.models import EnergyTariff, Feeder, LoadCurve, OccupancyDefault, PvCurve
from apps.pricing.services.imports import (
    energy_tariff_import, load_curve_import, occupancy_default_import, pv_curve_import,
)
from tests.factories import OrganizationFactory, SiteFactory

from .factories import LOAD_PU, FeederFactory, UtilityFactory, load_csv, pv_csv

pytestmark = pytest.mark.django_db


def test_load_curve_in_kw_becomes_per_unit_over_the_curve_maximum():
    utility = UtilityFactory(name="ELFSM")
    kw = [str(500 + 20 * h) for h in range(24)]             # 500 … 960 kW, maximum 960
    result = load_curve_import(utility=utility, text=load_csv("AL-07", kw, ("weekday",)), unit="kw")
    assert (result.lines, result.curves) == (24, 1)
    curve = LoadCurve.objects.get(feeder__code="AL-07", day_type="weekday", season="all")
    # 500 / 960 = 0.52083… → 0.5208; 960 / 960 = 1
    assert curve.load_pu[0] == "0.5208" and curve.load_pu[23] == "1.0000"
    assert curve.load_kw[0] == "500.000"
    assert Feeder.objects.get(code="AL-07").utility == utility


def test_load_curve_in_pu_gets_kw_from_the_feeder_base():
    feeder = FeederFactory(code="AL-01", base_kw=D("2000"))
    load_curve_import(utility=feeder.utility, text=load_csv("AL-01", LOAD_PU, ("sunday",)), unit="pu")
    curve = LoadCurve.objects.get(feeder=feeder, day_type="sunday")
    assert curve.load_pu[18] == "1.0000" and curve.load_kw[18] == "2000.000" and curve.load_kw[0] == "1200.000"


def test_reimport_replaces_the_curve():
    utility = UtilityFactory()
    load_curve_import(utility=utility, text=load_csv("F1", ["0.5"] * 24, ("weekday",)), unit="pu")
    load_curve_import(utility=utility, text=load_csv("F1", ["0.7"] * 24, ("weekday",)), unit="pu")
    assert LoadCurve.objects.get().load_pu == ["0.7000"] * 24


def test_bad_load_file_names_line_and_column_and_saves_nothing():
    utility = UtilityFactory()
    load_curve_import(utility=utility, text=load_csv("F1", ["0.5"] * 24, ("weekday",)), unit="pu")
    lines = load_csv("F1", ["0.9"] * 24, ("weekday",)).splitlines()
    lines[5] = "F1,weekday,4,abc"          # line 6 of the file
    lines[8] = "F1,holiday,7,0.9"          # line 9
    lines.append("F2,weekday,3,0.8")       # an incomplete second curve
    with pytest.raises(PricingImportError) as info:
        load_curve_import(utility=utility, text="\n".join(lines), unit="pu")
    errors = info.value.errors
    assert "line 6, column 'load': “abc” is not a number" in errors
    assert "line 9, column 'day_type': “holiday” is not one of weekday, saturday, sunday" in errors
    assert any(e.startswith("feeder F2 all weekday: hours 0, 1, 2, 4,") for e in errors)
    assert LoadCurve.objects.get().load_pu == ["0.5000"] * 24      # the old curve is untouched
    assert not Feeder.objects.filter(code="F2").exists()


def test_duplicate_hour_names_both_lines():
    utility = UtilityFactory()
    lines = load_csv("F1", ["0.5"] * 24, ("weekday",)).splitlines()
    lines[3] = "F1,weekday,0,0.5"          # line 4 repeats hour 0 of line 2 (and hour 2 goes missing)
    with pytest.raises(PricingImportError) as info:
        load_curve_import(utility=utility, text="\n".join(lines), unit="pu")
    assert "line 4, column 'hour': hour 0 of feeder F1 all weekday was already given on line 2" in info.value.errors


def test_missing_column_is_reported_on_the_header_line():
    with pytest.raises(PricingImportError, match="line 1: missing column 'load'"):
        load_curve_import(utility=UtilityFactory(), text="feeder,day_type,hour\nF1,weekday,0\n", unit="pu")


def test_empty_and_non_utf8_files_are_refused():
    with pytest.raises(PricingImportError, match="the file is empty"):
        load_curve_import(utility=UtilityFactory(), text=b"", unit="pu")
    with pytest.raises(PricingImportError, match="not UTF-8"):
        load_curve_import(utility=UtilityFactory(), text=b"feeder,day_type,hour,load\n\xff\xfe", unit="pu")


def test_summer_curves_need_summer_months():
    utility = UtilityFactory(summer_months="")
    text = "feeder,day_type,hour,load,season\n" + "\n".join(f"F1,weekday,{h},0.5,summer" for h in range(24))
    with pytest.raises(PricingImportError, match="line 2, column 'season'"):
        load_curve_import(utility=utility, text=text, unit="pu")
    utility.summer_months = "12,1,2,3"
    utility.save()
    load_curve_import(utility=utility, text=text, unit="pu")
    assert LoadCurve.objects.get().season == "summer"


def test_semicolon_file_with_decimal_commas():
    utility = UtilityFactory()
    text = "feeder;day_type;hour;load\n" + "\n".join(f"F1;weekday;{h};0,{50 + h}" for h in range(24))
    load_curve_import(utility=utility, text=text.encode("utf-8-sig"), unit="pu")
    assert LoadCurve.objects.get().load_pu[3] == "0.5300"


def test_energy_tariff_tarifa_branca_with_ranges():
    utility = UtilityFactory()
    text = ("day_type,hour,period,price_per_kwh\n"
            "weekday,0-16,fora_ponta,0.52\nweekday,17,intermediario,0.76\nweekday,18-20,ponta,1.19\n"
            "weekday,21,intermediario,0.76\nweekday,22-23,fora_ponta,0.52\n"
            "saturday,0-23,fora_ponta,0.52\nsunday,0-23,fora_ponta,0.52\n")
    result = energy_tariff_import(utility=utility, text=text)
    assert result.curves == 3
    weekday = EnergyTariff.objects.get(utility=utility, day_type="weekday")
    assert weekday.price_per_kwh[18] == "1.19" and weekday.periods[18] == "ponta"
    assert weekday.price_per_kwh[17] == "0.76" and weekday.periods[23] == "fora_ponta"


def test_energy_tariff_missing_day_type_and_bad_range_refused():
    utility = UtilityFactory()
    with pytest.raises(PricingImportError) as info:
        energy_tariff_import(utility=utility, text="day_type,hour,period,price_per_kwh\nweekday,0-23,flat,0.6\n"
                                                   "weekday,20-18,flat,0.6\n")
    assert "line 3, column 'hour': “20-18” is not an hour 0–23 (or a range such as 18-20)" in info.value.errors
    assert "no prices for saturday, sunday (use day_type “all” for every day)" in info.value.errors
    assert not EnergyTariff.objects.exists()


def test_negative_price_refused():
    with pytest.raises(PricingImportError, match="line 2, column 'price_per_kwh': -0.1 is below 0"):
        energy_tariff_import(utility=UtilityFactory(), text="day_type,hour,period,price_per_kwh\nall,0-23,x,-0.1\n")


def test_pv_from_irradiance_with_the_simple_model():
    site = SiteFactory()
    ghi = [0] * 6 + [100, 300, 500, 700, 850, 950, 1000, 950, 850, 700, 500, 300, 100] + [0] * 5
    text = "hour,ghi_w_m2\n" + "\n".join(f"{h},{v}" for h, v in enumerate(ghi))
    pv_curve_import(text=text, site=site, peak_kwp=D("12"), performance_ratio=D("0.8"))
    curve = PvCurve.objects.get(site=site)
    # 12 kWp × 1000 / 1000 × 0.8 = 9.6 kW at 12h; 12 × 0.3 × 0.8 = 2.88 kW at 7h
    assert curve.power_kw[12] == "9.600" and curve.power_kw[7] == "2.880" and curve.source == "irradiance"


def test_irradiance_without_performance_ratio_refused():
    with pytest.raises(PricingImportError, match="performance ratio"):
        pv_curve_import(text="hour,ghi_w_m2\n0,0\n", site=SiteFactory(), peak_kwp=D("12"))


def test_pv_curve_global_or_local_not_both():
    with pytest.raises(PricingImportError, match="either global"):
        pv_curve_import(text=pv_csv(["0"] * 24), utility=UtilityFactory(), site=SiteFactory())


def test_occupancy_default_share_above_one_refused():
    organization = OrganizationFactory()
    text = "day_type,hour,share\n" + "\n".join(f"all,{h},{'1.5' if h == 9 else '0.2'}" for h in range(24))
    with pytest.raises(PricingImportError, match="line 11, column 'share': 1.5 is above 1"):
        occupancy_default_import(organization=organization, text=text)
    assert not OccupancyDefault.objects.exists()


def test_import_command_loads_a_file_and_reports_errors(tmp_path, capsys):
    good = tmp_path / "load.csv"
    good.write_text(load_csv("AL-02", LOAD_PU, ("weekday",)))
    call_command("pricing_import", "load", str(good), "--utility", "ELFSM", "--country", "BR", "--unit", "pu")
    assert "1 load curve(s) of ELFSM imported (pu) (24 lines)" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("feeder,day_type,hour,load\nAL-02,weekday,24,0.5\n")
    with pytest.raises(CommandError, match="line 2, column 'hour': “24” is not an hour"):
        call_command("pricing_import", "load", str(bad), "--utility", "ELFSM")
    with pytest.raises(CommandError, match="give --country"):
        call_command("pricing_import", "energy-tariff", str(good), "--utility", "Unknown Co")
