"""python manage.py register_station <id> --site <site> [--circuit …] [--password …] [--connectors N] …"""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.provisioning.exceptions import ProvisioningError
from apps.provisioning.services import circuit_resolve, site_resolve, station_provision


class Command(BaseCommand):
    help = ("Register a charging station (or update the one with this OCPP id; idempotent). Exits with an error "
            "for an unknown site or circuit or an invalid id.")

    def add_arguments(self, parser):
        parser.add_argument("ocpp_id", help="The station's OCPP identity (last segment of ws://HOST/ocpp/<id>).")
        parser.add_argument("--site", required=True, help="Site name (case-insensitive) or id.")
        parser.add_argument("--circuit", help="Circuit name within the site.")
        parser.add_argument("--password", help="HTTP Basic password the station presents (stored hashed).")
        parser.add_argument("--parking-spot", help="e.g. “Lugar n°3049”.")
        parser.add_argument("--connectors", type=int, help="Number of connectors (created 1..N).")
        parser.add_argument("--max-power-w", type=int, help="Station power in W.")
        parser.add_argument("--current-type", choices=["AC", "DC", "HPC"])
        parser.add_argument("--connector-type", help="Type2, CCS2, CHAdeMO, … (default Type2 for AC, CCS2 for DC).")

    def handle(self, *args, **options):
        try:
            site = site_resolve(ref=options["site"])
            circuit = circuit_resolve(site=site, name=options["circuit"]) if options["circuit"] else None
            station, created = station_provision(
                ocpp_id=options["ocpp_id"], site=site, circuit=circuit, password=options["password"],
                parking_spot=options["parking_spot"], connectors=options["connectors"],
                max_power_w=options["max_power_w"], current_type=options["current_type"],
                connector_type=options["connector_type"],
            )
        except ProvisioningError as exc:
            raise CommandError(exc.message) from exc
        except ValidationError as exc:
            raise CommandError(_describe(exc)) from exc
        connectors = station.connectors.count()
        self.stdout.write(self.style.SUCCESS(
            f"{'Registered' if created else 'Updated'} station {station.ocpp_id} at {station.site.name}"
            + (f", circuit {station.circuit.name}" if station.circuit_id else "")
            + f", {connectors} connector(s)" + (", password set" if options["password"] else "")
        ))


def _describe(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in exc.message_dict.items())
    return " ".join(exc.messages)
