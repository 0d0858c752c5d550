"""Reconciliation: `python manage.py billing_reconcile --organization <slug> --month 2026-10 [--json]`."""
import json

from django.core.management.base import BaseCommand, CommandError

from apps.organizations.models import Organization
from evnet.exceptions import DomainError

from ...services.closing import month_parse
from ...services.reconciliation import reconciliation_report


class Command(BaseCommand):
    help = "Match sessions, prices, wallet debits, invoices and payments of a month; list every mismatch."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True)
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, organization, month, **options):
        org = Organization.objects.filter(slug=organization).first()
        if org is None:
            raise CommandError(f"No organization with slug “{organization}”.")
        try:
            report = reconciliation_report(organization=org, period=month_parse(month))
        except DomainError as error:
            raise CommandError(error.message) from None
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=1, ensure_ascii=False))
            return
        self.stdout.write(f"{report['organization']} {report['period']}")
        for key, value in report["totals"].items():
            self.stdout.write(f"  {key}: {value}")
        self.stdout.write(f"mismatches: {len(report['mismatches'])} {report['mismatch_counts']}")
        for mismatch in report["mismatches"]:
            self.stdout.write(f"  [{mismatch['kind']}] {mismatch['reference']}: {mismatch['detail']}")

