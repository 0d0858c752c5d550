"""Reads about stations and connectors."""
from __future__ import annotations

from .models import Connector

_IDLE_TEXT = {
    Connector.Status.AVAILABLE: "Car disconnected",
    Connector.Status.PREPARING: "Car connected, waiting to start",
    Connector.Status.FINISHING: "Charging finished, car still connected",
    Connector.Status.RESERVED: "Reserved",
    Connector.Status.UNAVAILABLE: "Unavailable",
    Connector.Status.FAULTED: "Faulted",
    Connector.Status.UNKNOWN: "No status reported yet",
}


def _kw(watts: int) -> str:
    return f"{watts / 1000:.1f} kW"


def connector_status_text(*, connector: Connector) -> str:
    """What a clerk sees for a parking spot, as in the ChaZeMo screen: "Car disconnected" or
    "Charging at 2.4 kW of 4.6 kW allocated"."""
    if connector.status in (Connector.Status.CHARGING, Connector.Status.SUSPENDED_EV,
                            Connector.Status.SUSPENDED_EVSE):
        allocated = connector.allocated_power_w or connector.max_power_w
        verb = "Charging" if connector.status == Connector.Status.CHARGING else "Suspended"
        text = f"{verb} at {_kw(connector.power_w)} of {_kw(allocated)} allocated"
    else:
        text = _IDLE_TEXT.get(connector.status, connector.status)
    if connector.status == Connector.Status.FAULTED and connector.error_code:
        text += f" ({connector.error_code})"
    return text


def station_group_name(*, ocpp_id: str) -> str:
    """The channel-layer group of a station's WebSocket: every process publishes commands for the station here and
    the process holding its socket listens. Group names allow only ASCII letters, digits, '-', '_' and '.', so other
    characters of an OCPP identity (':') are escaped; identities are case-insensitive, so the name is lower-cased."""
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else f"_{ord(ch):02x}_"
                   for ch in ocpp_id.lower())
    return f"station.{safe}"
