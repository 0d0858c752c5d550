"""ERP export: `python manage.py billing_export --organization <slug> --month 2026-10 --format csv|json|saft
--out var/exports` writes the files and prints their paths."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.organizations.models import Organization
from evnet.exceptions import DomainError

from ...services.closing import month_parse
from ...services.exports import erp_export, saft_pt_export


class Command(BaseCommand):
    help = "Export a month's journal and invoices for the ERP (CSV, JSON) or as SAF-T (PT) XML."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True)
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--format", default="csv", choices=["csv", "json", "saft"])
        parser.add_argument("--out", default="var/exports")

    def handle(self, *args, organization, month, format, out, **options):
        org = Organization.objects.filter(slug=organization).first()
        if org is None:
            raise CommandError(f"No organization with slug “{organization}”.")
        try:
            period = month_parse(month)
            files = ({f"{org.slug}-{period:%Y-%m}-saft-pt.xml": saft_pt_export(organization=org, period=period)}
                     if format == "saft" else erp_export(organization=org, period=period, fmt=format))
        except DomainError as error:
            raise CommandError(error.message) from None
        directory = Path(out)
        directory.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (directory / name).write_text(content, encoding="utf-8")
            self.stdout.write(str(directory / name))
