"""The shipped TOU calendars are loaded by migration 0002; a transactional test elsewhere in the suite flushes
every table, so database tests here reload them (idempotently) when they are missing."""
from __future__ import annotations

import json

import pytest

from .helpers import DATA


@pytest.fixture
def shipped_calendars(db):
    from apps.tariffs.models import TouCalendar
    from apps.tariffs.services import tou_calendar_import

    if not TouCalendar.objects.exists():
        for calendar in json.loads((DATA / "calendars.json").read_text(encoding="utf-8"))["calendars"]:
            tou_calendar_import(data=calendar)
