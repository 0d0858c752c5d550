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
