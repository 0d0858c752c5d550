from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from apps.sites.models import Site


class Circuit(models.Model):
    """A branch of a site's electrical installation (building feed → floor → circuit) whose limit is shared by
    the cars charging below it. Limits are per phase current (A) and/or total power (W)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="circuits")
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
                               help_text="The circuit that feeds this one (empty for the building feed).")
    name = models.CharField(max_length=100, help_text="e.g. Piso -3 Circuito 2")
    phases = models.PositiveSmallIntegerField(choices=[(1, "Single phase"), (3, "Three phase")], default=3)
    voltage_v = models.PositiveSmallIntegerField("voltage (V, phase to neutral)", default=230)
    max_current_a = models.PositiveIntegerField(
        "max current per phase (A)", null=True, blank=True,
        validators=[MinValueValidator(1, "The current limit must be a positive number of amperes.")],
    )
    max_power_w = models.PositiveIntegerField(
        "max power (W)", null=True, blank=True,
        validators=[MinValueValidator(1, "The power limit must be a positive number of watts.")],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["site__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="circuit_name_unique_per_site",
                                    violation_error_message="This site already has a circuit with this name."),
            models.CheckConstraint(condition=models.Q(max_current_a__isnull=True) | models.Q(max_current_a__gt=0),
                                   name="circuit_current_positive",
                                   violation_error_message="The current limit must be positive."),
            models.CheckConstraint(condition=models.Q(max_power_w__isnull=True) | models.Q(max_power_w__gt=0),
                                   name="circuit_power_positive",
                                   violation_error_message="The power limit must be positive."),
            models.CheckConstraint(condition=~models.Q(parent=models.F("pk")), name="circuit_not_own_parent",
                                   violation_error_message="A circuit cannot feed itself."),
        ]

    def __str__(self) -> str:
        return f"{self.site} · {self.name}"

    @property
    def limit_w(self) -> int | None:
        """The circuit's power limit in W: the smaller of the power limit and phases × voltage × current."""
        limits = [w for w in (self.max_power_w,) if w]
        if self.max_current_a:
            limits.append(self.phases * self.voltage_v * self.max_current_a)
        return min(limits) if limits else None

    def ancestor_ids(self) -> list[int]:
        """Ids from the parent up to the root. Stops on a loop already in the data instead of spinning."""
        seen: list[int] = []
        node = self.parent
        while node is not None and node.pk not in seen:
            seen.append(node.pk)
            node = node.parent
        return seen

    def clean(self) -> None:
        errors = {}
        if self.parent_id is not None:
            if self.pk is not None and self.parent_id == self.pk:
                errors["parent"] = "A circuit cannot feed itself."
            elif self.pk is not None and self.pk in self.parent.ancestor_ids() + [self.parent_id]:
                errors["parent"] = "The parent is fed by this circuit (it is one of its descendants): that makes a loop."
            elif self.site_id and self.parent.site_id != self.site_id:
                errors["parent"] = "The parent circuit belongs to another site."
        if self.max_current_a is None and self.max_power_w is None:
            errors["max_power_w"] = "Give the circuit a limit: a max current per phase or a max power."
        if errors:
            raise ValidationError(errors)
