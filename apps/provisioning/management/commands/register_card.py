"""python manage.py register_card <uid> --organization <slug> [--owner <username>] [--station <id> …]"""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.provisioning.exceptions import ProvisioningError
from apps.provisioning.services import card_provision, organization_resolve, person_resolve, station_resolve

from .register_station import _describe


class Command(BaseCommand):
    help = ("Register an RFID card for an organization (or update it; idempotent) and allow it at restricted "
            "stations. Exits with an error for an unknown organization, person or station, or an invalid uid.")

    def add_arguments(self, parser):
        parser.add_argument("uid", help="The card's idTag as the charger reads it (≤ 20 characters).")
        parser.add_argument("--organization", required=True, help="Organization slug.")
        parser.add_argument("--owner", help="Username of the card's holder.")
        parser.add_argument("--label", default="", help="Printed number or a name for the card.")
        parser.add_argument("--user-group", default="", help="Price group (public, resident, fleet, …).")
        parser.add_argument("--station", action="append", default=[],
                            help="Allow the card at this station (repeat for several).")

    def handle(self, *args, **options):
        try:
            organization = organization_resolve(slug=options["organization"])
            owner = person_resolve(username=options["owner"]) if options["owner"] else None
            stations = [station_resolve(ocpp_id=ocpp_id) for ocpp_id in options["station"]]
            id_tag, created, granted = card_provision(
                uid=options["uid"], organization=organization, owner=owner, label=options["label"],
                user_group=options["user_group"], stations=stations,
            )
        except ProvisioningError as exc:
            raise CommandError(exc.message) from exc
        except ValidationError as exc:
            raise CommandError(_describe(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"{'Registered' if created else 'Updated'} card {id_tag.uid} for {organization.name}"
            + (f", holder {owner.username}" if owner else "")
            + (f", allowed at {', '.join(s.ocpp_id for s in stations)} ({granted} new)" if stations else "")
        ))
