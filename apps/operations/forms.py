"""Parameters of the station commands a clerk sends from the back-office."""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone

from apps.organizations.selectors import queryset_scope

from .models import FirmwareImage


class CommandForm(forms.Form):
    """Base of the action forms; `request` scopes choices to the organizations the clerk serves."""

    def __init__(self, *args, request=None, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)


def _connector(required: bool = True, minimum: int = 1, help_text: str = "") -> forms.IntegerField:
    return forms.IntegerField(label="connector", min_value=minimum, required=required, help_text=help_text)


def _id_tag() -> forms.CharField:
    return forms.CharField(label="idTag (card uid)", max_length=20)


class NoParametersForm(CommandForm):
    pass


class RemoteStartForm(CommandForm):
    connector_id = _connector(required=False, help_text="Empty: the charger chooses.")
    id_tag = _id_tag()


class RemoteStopForm(CommandForm):
    transaction_id = forms.IntegerField(label="session (transactionId)", min_value=1, required=False,
                                        help_text="Empty: the station's only session in progress.")


class ResetForm(CommandForm):
    reset_type = forms.ChoiceField(label="reset", choices=[("Soft", "Soft (restart software)"),
                                                           ("Hard", "Hard (reboot)")])


class UnlockForm(CommandForm):
    connector_id = _connector()


class AvailabilityForm(CommandForm):
    connector_id = _connector(minimum=0, help_text="0 = the whole station.")
    availability = forms.ChoiceField(choices=[("Operative", "Operative"), ("Inoperative", "Inoperative")])


class GetConfigurationForm(CommandForm):
    keys = forms.CharField(required=False, help_text="Comma-separated keys; empty = every key.")

    def clean_keys(self) -> list[str]:
        keys = [k.strip() for k in self.cleaned_data["keys"].split(",") if k.strip()]
        for key in keys:
            if len(key) > 50:
                raise forms.ValidationError(f"“{key[:20]}…” is longer than 50 characters (OCPP 1.6 CiString50).")
        return keys


class ChangeConfigurationForm(CommandForm):
    key = forms.CharField(max_length=50)
    value = forms.CharField(max_length=500)


class TriggerMessageForm(CommandForm):
    requested_message = forms.ChoiceField(choices=[(m, m) for m in (
        "BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification", "Heartbeat",
        "MeterValues", "StatusNotification")])
    connector_id = _connector(required=False, help_text="Optional: only for one connector.")


class UpdateFirmwareForm(CommandForm):
    firmware = forms.ModelChoiceField(queryset=FirmwareImage.objects.none())
    retrieve_at = forms.DateTimeField(label="download from", initial=timezone.now,
                                      help_text="When the charger may start downloading.")
    retries = forms.IntegerField(min_value=0, required=False)
    retry_interval_s = forms.IntegerField(label="retry interval (s)", min_value=1, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        queryset = FirmwareImage.objects.select_related("organization")
        if self.request is not None:
            queryset = queryset_scope(queryset=queryset, user=self.request.user, organization_path="organization")
        self.fields["firmware"].queryset = queryset


class GetDiagnosticsForm(CommandForm):
    start_at = forms.DateTimeField(label="logs from", required=False)
    stop_at = forms.DateTimeField(label="logs until", required=False)

    def clean(self):
        data = super().clean()
        if data.get("start_at") and data.get("stop_at") and data["stop_at"] <= data["start_at"]:
            raise forms.ValidationError("The period must end after it starts.")
        return data


class SetChargingProfileForm(CommandForm):
    connector_id = _connector(minimum=0, help_text="0 = every connector (TxDefaultProfile only).")
    purpose = forms.ChoiceField(choices=[("TxDefaultProfile", "Default for every transaction (TxDefaultProfile)"),
                                         ("TxProfile", "The transaction in progress (TxProfile)")])
    limit = forms.DecimalField(min_value=Decimal("0.1"), max_digits=9, decimal_places=1)
    unit = forms.ChoiceField(choices=[("A", "A (per phase)"), ("W", "W")])
    profile_id = forms.IntegerField(label="profile id", min_value=1, initial=1)
    stack_level = forms.IntegerField(min_value=0, initial=0)
    transaction_id = forms.IntegerField(label="session (transactionId)", min_value=1, required=False,
                                        help_text="TxProfile: empty = the session in progress on the connector.")

    def clean(self):
        data = super().clean()
        if data.get("purpose") == "TxProfile" and data.get("connector_id") == 0:
            raise forms.ValidationError("A TxProfile applies to one connector, not 0.")
        return data


class ClearChargingProfileForm(CommandForm):
    profile_id = forms.IntegerField(label="profile id", min_value=1, required=False)
    connector_id = _connector(required=False, minimum=0)
    purpose = forms.ChoiceField(required=False, choices=[
        ("", "any"), ("ChargePointMaxProfile", "ChargePointMaxProfile"), ("TxDefaultProfile", "TxDefaultProfile"),
        ("TxProfile", "TxProfile")])
    stack_level = forms.IntegerField(min_value=0, required=False)


class GetCompositeScheduleForm(CommandForm):
    connector_id = _connector(minimum=0, help_text="0 = the whole station's grid connection.")
    duration_s = forms.IntegerField(label="duration (s)", min_value=1, initial=3600)
    unit = forms.ChoiceField(required=False, choices=[("", "the charger's"), ("A", "A"), ("W", "W")])


class ReserveNowForm(CommandForm):
    connector_id = _connector(minimum=0, help_text="0 = any connector.")
    id_tag = _id_tag()
    expires_at = forms.DateTimeField(label="reserved until")

    def clean_expires_at(self):
        value = self.cleaned_data["expires_at"]
        if value <= timezone.now():
            raise forms.ValidationError("A reservation must end in the future.")
        return value


class CancelReservationForm(CommandForm):
    reservation_id = forms.IntegerField(label="reservation id", min_value=1)


class SendLocalListForm(CommandForm):
    update_type = forms.ChoiceField(choices=[("Full", "Full (replace the list)"),
                                             ("Differential", "Differential (changes since the last list sent)")])


class DataTransferForm(CommandForm):
    vendor_id = forms.CharField(label="vendorId", max_length=255)
    message_id = forms.CharField(label="messageId", max_length=50, required=False)
    data = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
