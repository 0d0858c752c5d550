"""Station commands as admin actions: each asks for its parameters on an intermediate page, calls one service per
selected station and shows every charger's answer (or the clear offline / timeout / refusal) to the clerk."""
from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib import admin
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from evnet.exceptions import DomainError

from . import forms as f
from .services import command_reply_describe
from .services import station_commands as sc

# An admin request waits for each charger in turn; beyond this many stations use a Celery task or the API.
MAX_STATIONS_PER_ACTION = 20


@dataclass
class CommandOutcome:
    station: object
    ok: bool
    summary: str
    detail: str = ""


def _answer(answer) -> tuple[str, str]:
    if isinstance(answer, tuple):  # services that also return the row they wrote
        answer = answer[-1]
    return command_reply_describe(response=answer), json.dumps(answer, indent=2, ensure_ascii=False,
                                                               sort_keys=True)


def command_action(*, name: str, description: str, form_class, run):
    """Build an admin action named `name` running `run(station=, data=, user=)` on each selected station."""

    def action(modeladmin, request, queryset):
        stations = list(queryset.select_related("site")[:MAX_STATIONS_PER_ACTION + 1])
        if not stations:
            modeladmin.message_user(request, "None of the selected stations is one you serve.", level="error")
            return None
        if len(stations) > MAX_STATIONS_PER_ACTION:
            modeladmin.message_user(request, f"Select at most {MAX_STATIONS_PER_ACTION} stations for a command "
                                             "sent from this page.", level="error")
            return None
        submitted = "apply" in request.POST
        form = form_class(request.POST if submitted else None, request=request)
        context = {
            **modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta, "title": description,
            "action_name": name, "stations": stations, "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        if submitted and form.is_valid():
            outcomes = []
            for station in stations:
                try:
                    summary, detail = _answer(run(station=station, data=form.cleaned_data, user=request.user))
                    outcomes.append(CommandOutcome(station, True, summary, detail))
                except DomainError as exc:
                    outcomes.append(CommandOutcome(station, False, exc.message))
            context["outcomes"] = outcomes
            return TemplateResponse(request, "operations/command_results.html", context)
        return TemplateResponse(request, "operations/command_form.html", context)

    action.__name__ = name
    return admin.action(description=description, permissions=["change"])(action)


def _tx_for_profile(station, data):
    if data["purpose"] != "TxProfile" or data.get("transaction_id"):
        return data.get("transaction_id")
    session = sc.station_active_sessions(station=station).filter(connector_number=data["connector_id"]).first()
    if session is None:
        raise sc.NoActiveSession(f"No session in progress on connector {data['connector_id']} of "
                                 f"{station.ocpp_id}.")
    return session.pk


def _set_profile(*, station, data, user):
    profile = sc.charging_profile_build(
        profile_id=data["profile_id"], purpose=data["purpose"], limit=data["limit"], unit=data["unit"],
        stack_level=data["stack_level"], transaction_id=_tx_for_profile(station, data))
    return sc.station_set_charging_profile(station=station, connector_id=data["connector_id"], profile=profile,
                                           requested_by=user)


STATION_ACTIONS = [
    command_action(name="ops_remote_start", description="Start charging (RemoteStartTransaction)",
                   form_class=f.RemoteStartForm,
                   run=lambda station, data, user: sc.station_remote_start(
                       station=station, connector_id=data["connector_id"], id_tag_uid=data["id_tag"],
                       requested_by=user)),
    command_action(name="ops_remote_stop", description="Stop charging (RemoteStopTransaction)",
                   form_class=f.RemoteStopForm,
                   run=lambda station, data, user: sc.station_remote_stop(
                       station=station, transaction_id=data["transaction_id"], requested_by=user)),
    command_action(name="ops_reset", description="Reset", form_class=f.ResetForm,
                   run=lambda station, data, user: sc.station_reset(
                       station=station, reset_type=data["reset_type"], requested_by=user)),
    command_action(name="ops_unlock", description="Unlock connector", form_class=f.UnlockForm,
                   run=lambda station, data, user: sc.station_unlock_connector(
                       station=station, connector_id=data["connector_id"], requested_by=user)),
    command_action(name="ops_availability", description="Change availability", form_class=f.AvailabilityForm,
                   run=lambda station, data, user: sc.station_change_availability(
                       station=station, connector_id=data["connector_id"], availability=data["availability"],
                       requested_by=user)),
    command_action(name="ops_get_configuration", description="Get configuration", form_class=f.GetConfigurationForm,
                   run=lambda station, data, user: sc.station_get_configuration(
                       station=station, keys=data["keys"], requested_by=user)),
    command_action(name="ops_change_configuration", description="Change configuration",
                   form_class=f.ChangeConfigurationForm,
                   run=lambda station, data, user: sc.station_change_configuration(
                       station=station, key=data["key"], value=data["value"], requested_by=user)),
    command_action(name="ops_trigger_message", description="Trigger a message", form_class=f.TriggerMessageForm,
                   run=lambda station, data, user: sc.station_trigger_message(
                       station=station, requested_message=data["requested_message"],
                       connector_id=data["connector_id"], requested_by=user)),
    command_action(name="ops_update_firmware", description="Update firmware", form_class=f.UpdateFirmwareForm,
                   run=lambda station, data, user: sc.station_update_firmware(
                       station=station, firmware=data["firmware"], retrieve_at=data["retrieve_at"],
                       retries=data["retries"], retry_interval_s=data["retry_interval_s"], requested_by=user)),
    command_action(name="ops_get_diagnostics", description="Get diagnostics (upload to evnet)",
                   form_class=f.GetDiagnosticsForm,
                   run=lambda station, data, user: sc.station_get_diagnostics(
                       station=station, start_at=data["start_at"], stop_at=data["stop_at"], requested_by=user)),
    command_action(name="ops_clear_cache", description="Clear authorization cache", form_class=f.NoParametersForm,
                   run=lambda station, data, user: sc.station_clear_cache(station=station, requested_by=user)),
    command_action(name="ops_set_charging_profile", description="Set charging limit (SetChargingProfile)",
                   form_class=f.SetChargingProfileForm, run=_set_profile),
    command_action(name="ops_clear_charging_profile", description="Clear charging profiles",
                   form_class=f.ClearChargingProfileForm,
                   run=lambda station, data, user: sc.station_clear_charging_profile(
                       station=station, profile_id=data["profile_id"], connector_id=data["connector_id"],
                       purpose=data["purpose"], stack_level=data["stack_level"], requested_by=user)),
    command_action(name="ops_get_composite_schedule", description="Get composite schedule",
                   form_class=f.GetCompositeScheduleForm,
                   run=lambda station, data, user: sc.station_get_composite_schedule(
                       station=station, connector_id=data["connector_id"], duration_s=data["duration_s"],
                       unit=data["unit"], requested_by=user)),
    command_action(name="ops_reserve_now", description="Reserve a connector", form_class=f.ReserveNowForm,
                   run=lambda station, data, user: sc.station_reserve_now(
                       station=station, connector_id=data["connector_id"], id_tag_uid=data["id_tag"],
                       expires_at=data["expires_at"], requested_by=user)),
    command_action(name="ops_cancel_reservation", description="Cancel a reservation",
                   form_class=f.CancelReservationForm,
                   run=lambda station, data, user: sc.station_cancel_reservation(
                       station=station, reservation_id=data["reservation_id"], requested_by=user)),
    command_action(name="ops_send_local_list", description="Send local authorization list",
                   form_class=f.SendLocalListForm,
                   run=lambda station, data, user: sc.station_send_local_list(
                       station=station, update_type=data["update_type"], requested_by=user)),
    command_action(name="ops_get_local_list_version", description="Get local list version",
                   form_class=f.NoParametersForm,
                   run=lambda station, data, user: sc.station_get_local_list_version(station=station,
                                                                                     requested_by=user)),
    command_action(name="ops_data_transfer", description="Data transfer (vendor specific)",
                   form_class=f.DataTransferForm,
                   run=lambda station, data, user: sc.station_data_transfer(
                       station=station, vendor_id=data["vendor_id"], message_id=data["message_id"],
                       data=data["data"], requested_by=user)),
]
