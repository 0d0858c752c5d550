"""python manage.py pricing_import KIND FILE [...] — import dynamic-pricing inputs from CSV (see README)."""
from __future__ import annotations

from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from apps.organizations.models import Organization
from apps.pricing.exceptions import PricingImportError
from apps.pricing.models import Utility
from apps.pricing.services.imports import (
    energy_tariff_import, load_curve_import, occupancy_default_import, pv_curve_import,
)
from apps.sites.models import Site

KINDS = ["load", "pv", "energy-tariff", "occupancy-default"]


class Command(BaseCommand):
    help = ("Import a load curve (--utility, --unit pu|kw), a PV curve (--utility for global or --site for local; "
            "--peak-kwp and --performance-ratio for an irradiance file), an energy tariff (--utility) or a default "
            "occupancy curve (--organization). A bad file saves nothing.")

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("file")
        parser.add_argument("--utility", help="utility name (created when missing, with --country)")
        parser.add_argument("--country", choices=["BR", "PT"], help="country of a new utility")
        parser.add_argument("--site", type=int, help="site id (local PV)")
        parser.add_argument("--organization", help="organization slug (default occupancy)")
        parser.add_argument("--unit", choices=["pu", "kw"], default="pu")
        parser.add_argument("--peak-kwp", type=Decimal)
        parser.add_argument("--performance-ratio", type=Decimal)

    def handle(self, *args, **options):
        try:
            with open(options["file"], "rb") as handle:
                content = handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc.strerror}")
        kind = options["kind"]
        try:
            if kind == "occupancy-default":
                organization = Organization.objects.filter(slug=options["organization"] or "").first()
                if organization is None:
                    raise CommandError(f"No organization with slug “{options['organization']}” (--organization).")
                result = occupancy_default_import(organization=organization, text=content)
            elif kind == "pv" and options["site"]:
                site = Site.objects.filter(pk=options["site"]).first()
                if site is None:
                    raise CommandError(f"No site with id {options['site']}.")
                result = pv_curve_import(text=content, site=site, peak_kwp=options["peak_kwp"],
                                         performance_ratio=options["performance_ratio"])
            else:
                utility = self._utility(options)
                if kind == "load":
                    result = load_curve_import(utility=utility, text=content, unit=options["unit"])
                elif kind == "pv":
                    result = pv_curve_import(text=content, utility=utility, peak_kwp=options["peak_kwp"],
                                             performance_ratio=options["performance_ratio"])
                else:
                    result = energy_tariff_import(utility=utility, text=content)
        except PricingImportError as exc:
            raise CommandError("\n".join(["The file was not imported, nothing was saved:"] + exc.errors))
        self.stdout.write(f"{result.summary} ({result.lines} lines)")

    def _utility(self, options) -> Utility:
        name = options["utility"]
        if not name:
            raise CommandError("Name the utility (--utility).")
        utility = Utility.objects.filter(name=name).first()
        if utility is None:
            if not options["country"]:
                raise CommandError(f"No utility “{name}”: give --country BR|PT to create it.")
            utility = Utility.objects.create(name=name, country=options["country"])
        return utility
