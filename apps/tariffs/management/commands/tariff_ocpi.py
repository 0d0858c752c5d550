"""Import or export tariffs as OCPI 2.2.1 Tariff JSON.

    python manage.py tariff_ocpi import --organization <slug> tariff.json [--valid-from 2026-07-01T00:00:00Z]
    python manage.py tariff_ocpi export --organization <slug> --tariff <code> [--number N]

Import creates the tariff (code = the OCPI id) if needed and publishes a new version. Bad input → exit code 2."""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from apps.organizations.models import Organization
from evnet.exceptions import DomainError

from ...models import Tariff
from ...services import tariff_export_ocpi, tariff_import_ocpi


class Command(BaseCommand):
    help = "Import/export tariffs as OCPI 2.2.1 Tariff JSON."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["import", "export"])
        parser.add_argument("file", nargs="?", help="OCPI tariff JSON file (import)")
        parser.add_argument("--organization", required=True, help="organization slug")
        parser.add_argument("--tariff", help="tariff code (export)")
        parser.add_argument("--number", type=int, help="version number (export; default the latest)")
        parser.add_argument("--valid-from", help="ISO 8601 start of the imported version (default now)")

    def handle(self, *args, **options):
        try:
            organization = Organization.objects.get(slug=options["organization"])
        except Organization.DoesNotExist as exc:
            raise CommandError(f"No organization with slug “{options['organization']}”.", returncode=2) from exc
        try:
            if options["action"] == "import":
                self._import(organization, options)
            else:
                self._export(organization, options)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=2) from exc

    def _import(self, organization, options):
        if not options["file"]:
            raise CommandError("import needs the tariff JSON file.", returncode=2)
        try:
            with open(options["file"], encoding="utf-8") as fh:
                data = json.load(fh, parse_float=Decimal)
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}", returncode=2) from exc
        valid_from = None
        if options["valid_from"]:
            try:
                valid_from = datetime.fromisoformat(options["valid_from"])
            except ValueError as exc:
                raise CommandError(f"--valid-from “{options['valid_from']}” is not ISO 8601.", returncode=2) from exc
            if valid_from.tzinfo is None:
                raise CommandError("--valid-from needs a UTC offset (…Z).", returncode=2)
        version = tariff_import_ocpi(organization=organization, data=data, valid_from_at=valid_from)
        self.stdout.write(f"{version} ({version.currency}, VAT {version.vat_rate} %) valid from "
                          f"{version.valid_from_at.isoformat()}")

    def _export(self, organization, options):
        tariff = Tariff.objects.filter(organization=organization, code=options["tariff"]).first()
        if tariff is None:
            raise CommandError(f"No tariff “{options['tariff']}” in {organization}.", returncode=2)
        versions = tariff.versions.all()
        version = versions.filter(number=options["number"]).first() if options["number"] else versions.first()
        if version is None:
            raise CommandError(f"Tariff {tariff.code} has no such version.", returncode=2)
        self.stdout.write(json.dumps(tariff_export_ocpi(version=version), indent=2, ensure_ascii=False))
