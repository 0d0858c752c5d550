from django.conf import settings
from django.db import models


class Organization(models.Model):
    """A tenant: the condominium, parking operator, fleet company or charge point operator whose data it is."""

    class Kind(models.TextChoices):
        CONDOMINIUM = "condominium", "Condominium"
        PARKING_OPERATOR = "parking_operator", "Parking operator"
        FLEET_COMPANY = "fleet_company", "Fleet company"
        CHARGE_POINT_OPERATOR = "cpo", "Charge point operator"

    class Country(models.TextChoices):
        PORTUGAL = "PT", "Portugal"
        BRAZIL = "BR", "Brazil"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    country = models.CharField(max_length=2, choices=Country.choices)
    tax_id = models.CharField("tax id (NIF / CNPJ)", max_length=32, blank=True)
    email = models.EmailField(blank=True, help_text="Where monthly reports and invoices for the manager go.")
    accept_unknown_stations = models.BooleanField(
        default=False,
        help_text="Accept stations that are not registered yet as Pending, for a clerk to approve.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person's role in an organization. A BPO clerk has one membership per organization they serve."""

    class Role(models.TextChoices):
        BPO_CLERK = "bpo_clerk", "BPO clerk"
        ORG_ADMIN = "org_admin", "Organization admin"
        FLEET_MANAGER = "fleet_manager", "Fleet manager"
        DRIVER = "driver", "Driver"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__name", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization", "role"], name="membership_unique_role",
                                    violation_error_message="This person already has this role here."),
        ]
        indexes = [models.Index(fields=["user", "role"])]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.organization}"
