"""Writes of the operations app. `command_send` / `command_send_async` are contract 1's caller side."""
from .commands import CSMS_ACTIONS, command_reply_describe, command_send, command_send_async, command_validate
from .monitoring import (connectivity_events_record, ocpp_message_log_prune, schedules_ensure, stations_monitor,
                         stations_offline_mark)

__all__ = [
    "CSMS_ACTIONS", "command_reply_describe", "command_send", "command_send_async", "command_validate",
    "connectivity_events_record", "ocpp_message_log_prune", "schedules_ensure", "stations_monitor",
    "stations_offline_mark",
]
