from django.core.management.base import BaseCommand

from apps.demo.services import demo_admin_ensure, demo_load


class Command(BaseCommand):
    help = "Load (or refresh) the demo network and print the admin login. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--people-password", default="evnet-demo",
                            help="Password of the demo clerks, drivers and fleet manager (default: evnet-demo).")

    def handle(self, *args, **options):
        counts = demo_load(people_password=options["people_password"])
        username, password = demo_admin_ensure()
        summary = ", ".join(f"{value} {key}" for key, value in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {summary}."))
        self.stdout.write("")
        self.stdout.write(self.style.WARNING("  Admin login for http://127.0.0.1:8000/admin/"))
        self.stdout.write(self.style.WARNING(f"    username: {username}"))
        self.stdout.write(self.style.WARNING(f"    password: {password}"))
        self.stdout.write(f"  Demo clerks ana.bpo (Lisbon condominium + São Paulo) and bruno.bpo (fleet), "
                          f"password: {options['people_password']}")
        self.stdout.write("  REST API (http://127.0.0.1:8000/api/docs/): driver maria.santos (Lisbon, prepaid wallet "
                          "with a EUR 20 opening top-up), fleet manager paulo.gestor, same password")
        self.stdout.write("")
