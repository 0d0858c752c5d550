"""A utility and a São Paulo station shaped like the paper's Figure 2 scenario (seed 002, §2.4), built through the
same CSV imports an operator uses."""
from __future__ import annotations

from decimal import Decimal

import factory

from apps.pricing.models import Feeder, StationPricing, Utility
from apps.pricing.services.imports import (
    energy_tariff_import, load_curve_import, occupancy_default_import, pv_curve_import,
)
from tests.factories import ConnectorFactory, OrganizationFactory, SiteFactory, StationFactory

# Figure 2 shapes, hour 0 to 23: the feeder's load (p.u.), the hours the station is expected busy, the local PV of
# the site (kW) and the utility's PV (kW).
LOAD_PU = ["0.60", "0.57", "0.55", "0.55", "0.56", "0.60", "0.70", "0.80", "0.85", "0.82", "0.80", "0.78",
           "0.76", "0.78", "0.80", "0.84", "0.88", "0.93", "1.00", "0.97", "0.92", "0.80", "0.62", "0.61"]
BUSY_HOURS = {7, 8, 15, 16, 17, 18, 19, 20}
LOCAL_PV_KW = ["0"] * 9 + ["3", "8", "10", "11", "10", "9", "8", "5", "1"] + ["0"] * 6
GLOBAL_PV_KW = ["0"] * 8 + ["300", "600", "850", "900", "950", "900", "790", "500", "200", "50"] + ["0"] * 6


class UtilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Utility
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Distribuidora {n}")
    country = "BR"


class FeederFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feeder

    utility = factory.SubFactory(UtilityFactory)
    code = factory.Sequence(lambda n: f"AL-{n:02d}")
    base_kw = Decimal("1000")


def csv_lines(header: str, lines) -> str:
    return header + "\n" + "\n".join(lines) + "\n"


def load_csv(feeder_code: str, values=LOAD_PU, day_types=("weekday", "saturday", "sunday")) -> str:
    return csv_lines("feeder,day_type,hour,load", [f"{feeder_code},{d},{h},{v}" for d in day_types
                                                   for h, v in enumerate(values)])


def pv_csv(values) -> str:
    return csv_lines("hour,power_kw", [f"{h},{v}" for h, v in enumerate(values)])


def occupancy_csv(busy=BUSY_HOURS) -> str:
    return csv_lines("day_type,hour,share", [f"all,{h},{1 if h in busy else 0}" for h in range(24)])


def figure2_station(*, ocpp_id="SP-DC01", time_zone="America/Sao_Paulo", currency="BRL", with_pv=True,
                    organization=None, **pricing):
    """A station with coefficients α=1, β=0.6, γ=0.35, flat energy 0.60 + investment 0.40 per kWh (no profit, as
    the paper's pilot decided), P_min 1.00, fixed 2.00 per session, idle 0.50 per minute."""
    organization = organization or OrganizationFactory(name="Estaciona SP", slug=f"org-{ocpp_id.lower()}",
                                                       country="BR")
    site = SiteFactory(organization=organization, name=f"Site of {ocpp_id}", time_zone=time_zone,
                       currency=currency, country="BR", city="São Paulo")
    station = StationFactory(site=site, ocpp_id=ocpp_id, max_power_w=7400)
    ConnectorFactory(station=station, connector_id=1)
    feeder = FeederFactory(code=f"AL-{ocpp_id}")
    utility = feeder.utility
    load_curve_import(utility=utility, text=load_csv(feeder.code), unit="pu")
    energy_tariff_import(utility=utility, text="day_type,hour,period,price_per_kwh\nall,0-23,flat,0.60\n")
    occupancy_default_import(organization=organization, text=occupancy_csv())
    if with_pv:
        pv_curve_import(text=pv_csv(LOCAL_PV_KW), site=site)
        pv_curve_import(text=pv_csv(GLOBAL_PV_KW), utility=utility)
    values = {"alpha": Decimal("1"), "beta": Decimal("0.6"), "gamma": Decimal("0.35"),
              "fixed_price": Decimal("2.00"), "min_price_per_kwh": Decimal("1.00"),
              "investment_per_kwh": Decimal("0.40"), "profit_per_kwh": Decimal("0"),
              "idle_fee_per_minute": Decimal("0.50")}
    values.update(pricing)
    StationPricing.objects.create(station=station, feeder=feeder, **values)
    return station
