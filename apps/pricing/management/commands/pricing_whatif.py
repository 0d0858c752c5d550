"""python manage.py pricing_whatif CURVES.csv --alpha A --beta B --gamma G [...] [--vary alpha=0,0.5,1]"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from apps.pricing.exceptions import PricingImportError
from apps.pricing.formula import Coefficients
from apps.pricing.whatif import SENSITIVITY_PARAMETERS, whatif_curves_parse, whatif_run, whatif_sensitivity


class Command(BaseCommand):
    help = ("Run the ANEEL formula over one day of curves (CSV: hour,energy_tariff,f_load,f_occ,f_pv_local,"
            "f_pv_global) and print the hourly prices and the daily average; --vary runs a sensitivity analysis.")

    def add_arguments(self, parser):
        parser.add_argument("curves")
        for name in Coefficients.__dataclass_fields__:
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=Decimal, default=Decimal("0"))
        parser.add_argument("--vary", help="e.g. alpha=0,0.25,0.5,0.75,1")

    def handle(self, *args, **options):
        try:
            with open(options["curves"], "rb") as handle:
                hours, factors = whatif_curves_parse(text=handle.read())
        except OSError as exc:
            raise CommandError(f"Cannot read {options['curves']}: {exc.strerror}")
        except PricingImportError as exc:
            raise CommandError("\n".join(exc.errors))
        coefficients = Coefficients(**{name: options[name] for name in Coefficients.__dataclass_fields__})
        result = whatif_run(coefficients=coefficients, hours=hours, factors=factors)
        self.stdout.write("hour  C_var     DM       price/kWh  P_min")
        for hour, price in zip(result.hours, result.prices):
            self.stdout.write(f"{hour:02d}h   {price.c_var_per_kwh:<9} {price.dm:<8} {price.variable_price_per_kwh:<10} "
                              f"{'yes' if price.clamped else ''}")
        self.stdout.write(f"daily average {result.average}")
        if options["vary"]:
            parameter, _, raw = options["vary"].partition("=")
            if parameter not in SENSITIVITY_PARAMETERS:
                raise CommandError(f"--vary {parameter}: choose one of {', '.join(SENSITIVITY_PARAMETERS)}")
            try:
                values = [Decimal(v) for v in raw.split(",") if v.strip()]
            except InvalidOperation:
                raise CommandError(f"--vary values “{raw}” are not numbers separated by commas")
            self.stdout.write(f"{parameter:<8} average   min       max")
            for point in whatif_sensitivity(coefficients=coefficients, factors=factors, parameter=parameter,
                                            values=values):
                self.stdout.write(f"{point.value:<8} {point.average:<9} {point.minimum:<9} {point.maximum}")
