"""Close a month: `python manage.py billing_close --organization <slug> --month 2026-10`."""
from django.core.management.base import BaseCommand, CommandError

from apps.organizations.models import Organization
from evnet.exceptions import DomainError

from ...services.closing import month_close, month_parse


class Command(BaseCommand):
    help = "Close a month for one organization (or all with postpaid customers): rate, settle, invoice, post."

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="organization slug; all with postpaid customers when omitted")
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--pause", type=float, default=0.0, help="seconds to wait between batches")
        parser.add_argument("--batch", type=int, default=100, help="customers invoiced per transaction")

    def handle(self, *args, organization=None, month, pause, batch, **options):
        try:
            period = month_parse(month)
        except DomainError as error:
            raise CommandError(error.message) from None
        if organization:
            organizations = list(Organization.objects.filter(slug=organization))
            if not organizations:
                raise CommandError(f"No organization with slug “{organization}”.")
        else:
            organizations = list(Organization.objects.filter(customers__regime="postpaid").distinct())
        for org in organizations:
            run = month_close(organization=org, period=period, pause_s=pause, batch=max(1, batch))
            self.stdout.write(f"{org.slug} {period:%Y-%m}: {run.status}, customers {run.progress}, "
                              f"invoices issued {run.invoices_issued}")
