"""OCPI 2.2.1 Tariff import (validation with clear errors) and export (round trip)."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from apps.tariffs.engine.ocpi import tariff_spec_from_ocpi, tariff_spec_to_ocpi
from apps.tariffs.exceptions import InvalidTariff, OverlappingRestrictions, UnknownCurrency

from .helpers import CALENDARS

FULL = {
    "country_code": "PT", "party_id": "EVN", "id": "full-1", "currency": "EUR", "type": "REGULAR",
    "tariff_alt_text": [{"language": "en", "text": "Day/night with idle fee"}],
    "min_price": {"excl_vat": 1.5, "incl_vat": 1.85}, "max_price": {"excl_vat": 40},
    "evnet_vat_rate": 23, "evnet_parking_grace_period_s": 600,
    "evnet_tou_calendar": CALENDARS["erse-btn-daily-bi"], "evnet_holidays": {"country": "PT", "subdiv": None},
    "elements": [
        {"evnet_label": "Fora de vazio", "price_components": [
            {"type": "ENERGY", "price": 0.28, "vat": 23, "step_size": 1},
            {"type": "TIME", "price": 0.6, "step_size": 60}],
         "restrictions": {"evnet_tou_periods": ["Fora de vazio"], "evnet_holiday": False,
                          "day_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
                          "start_date": "2026-01-01", "end_date": "2027-01-01", "min_power": 3.7,
                          "max_duration": 14400}},
        {"price_components": [{"type": "ENERGY", "price": 0.19, "vat": 23, "step_size": 1},
                              {"type": "PARKING_TIME", "price": 3, "step_size": 300, "evnet_dynamic": True}]},
        {"price_components": [{"type": "FLAT", "price": 0.5, "step_size": 1}],
         "restrictions": {"start_time": "22:00", "end_time": "08:00", "evnet_user_groups": ["public"]}},
    ],
}


def test_import_then_export_round_trips_an_ocpi_tariff():
    data = json.loads(json.dumps(FULL), parse_float=Decimal)
    spec = tariff_spec_from_ocpi(data)
    exported = tariff_spec_to_ocpi(spec)
    assert json.loads(json.dumps(exported)) == json.loads(json.dumps(FULL))
    assert tariff_spec_from_ocpi(json.loads(json.dumps(exported), parse_float=Decimal)) == spec
    assert spec.elements[0].price_components[1].step_size == 60
    assert spec.calendar.code == "erse-btn-daily-bi"


@pytest.mark.parametrize("mutate, error, message", [
    (lambda d: d.update(currency="EUX"), UnknownCurrency, "not an ISO 4217"),
    (lambda d: d.pop("elements"), InvalidTariff, "no “elements”"),
    (lambda d: d.update(elements=[]), InvalidTariff, "non-empty list"),
    (lambda d: d["elements"][1]["price_components"][0].update(type="KWH"), InvalidTariff, "is not one of"),
    (lambda d: d["elements"][1]["price_components"][0].update(price=-1), InvalidTariff, "must be ≥ 0"),
    (lambda d: d["elements"][1]["price_components"][0].pop("step_size"), InvalidTariff, "no “step_size”"),
    (lambda d: d["elements"][2]["restrictions"].update(start_time="25:00"), InvalidTariff, "HH:MM"),
    (lambda d: d["elements"][0]["restrictions"].update(day_of_week=["MON"]), InvalidTariff, "day_of_week"),
    (lambda d: d["elements"][0]["restrictions"].update(evnet_tou_periods=["Ponta"]), InvalidTariff,
     "not periods of calendar"),
    (lambda d: d["elements"][0]["restrictions"].update(colour="red"), InvalidTariff, "unknown restriction"),
    (lambda d: d.update(min_price={"excl_vat": 50}), InvalidTariff, "min_price is above max_price"),
    (lambda d: d.update(evnet_tou_calendar="erse-btn-daily-bi"), InvalidTariff, "cannot be looked up"),
])
def test_bad_tariffs_are_refused_with_a_clear_message(mutate, error, message):
    data = json.loads(json.dumps(FULL), parse_float=Decimal)
    mutate(data)
    with pytest.raises(error, match=message):
        tariff_spec_from_ocpi(data)


def test_overlapping_time_windows_for_the_same_dimension_are_refused():
    data = {"id": "o", "currency": "EUR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": 0.3, "step_size": 1}],
         "restrictions": {"start_time": "08:00", "end_time": "20:00"}},
        {"price_components": [{"type": "ENERGY", "price": 0.4, "step_size": 1}],
         "restrictions": {"start_time": "18:00", "end_time": "22:00"}},
    ]}
    with pytest.raises(OverlappingRestrictions, match="overlapping times"):
        tariff_spec_from_ocpi(data)


def test_identical_restrictions_are_refused_but_a_broader_fallback_is_fine():
    same = {"id": "o", "currency": "EUR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": 0.3, "step_size": 1}]},
        {"price_components": [{"type": "ENERGY", "price": 0.4, "step_size": 1}]}]}
    with pytest.raises(OverlappingRestrictions, match="could never apply"):
        tariff_spec_from_ocpi(same)
    fallback = {"id": "f", "currency": "EUR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": 0.3, "step_size": 1}],
         "restrictions": {"start_time": "22:00", "end_time": "08:00"}},
        {"price_components": [{"type": "ENERGY", "price": 0.4, "step_size": 1}],
         "restrictions": {"start_time": "08:00", "end_time": "22:00"}},
        {"price_components": [{"type": "ENERGY", "price": 0.5, "step_size": 1}]}]}
    assert len(tariff_spec_from_ocpi(fallback).elements) == 3


def test_calendar_with_a_gap_is_refused():
    calendar = json.loads(json.dumps(CALENDARS["br-branca-enel-sp"]))
    calendar["windows"] = [w for w in calendar["windows"] if w["period"] != "Ponta"]
    with pytest.raises(InvalidTariff, match="gap at 18:00 on all weekdays"):
        tariff_spec_from_ocpi({"id": "c", "currency": "BRL", "evnet_tou_calendar": calendar, "elements": [
            {"price_components": [{"type": "ENERGY", "price": 1, "step_size": 1}]}]})
