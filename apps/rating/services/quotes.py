"""Quotes: "what would a session of X kWh from HH:MM cost here?" (issue 5 §4)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apps.tariffs.engine.rating import RatingResult
from apps.tariffs.exceptions import NoTariff
from apps.tariffs.selectors import tariff_quote

from ..exceptions import QuoteInvalid, TariffMissing

MAX_QUOTE_WH = 1_000_000  # 1 MWh: far beyond any single vehicle battery; anything bigger is a typo.


def quote_start_utc(*, start_at_local: datetime, time_zone: str) -> datetime:
    """A wall-clock start in the site's time zone, as UTC. A time the clocks skip (spring forward) is refused; a
    repeated one (autumn) means its first occurrence."""
    zone = ZoneInfo(time_zone)
    if start_at_local.tzinfo is not None:
        return start_at_local.astimezone(ZoneInfo("UTC"))
    aware = start_at_local.replace(tzinfo=zone, fold=0)
    round_trip = aware.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None)
    if round_trip != start_at_local:
        raise QuoteInvalid(f"{start_at_local:%Y-%m-%d %H:%M} does not exist in {time_zone} (the clocks go "
                           f"forward then); choose another start time.")
    return aware.astimezone(ZoneInfo("UTC"))


def quote(*, station, energy_wh: int, start_at_local: datetime, user_group: str = "public",
          power_w: int | None = None) -> RatingResult:
    """The price of a hypothetical session at `station`: `energy_wh` charged from `start_at_local` (wall-clock in
    the site's time zone, or aware) at `power_w` (default: the tariffs engine's choice), rated by the engine with
    the tariff version in force at that start for `user_group`."""
    if isinstance(energy_wh, bool) or not isinstance(energy_wh, int) or energy_wh <= 0:
        raise QuoteInvalid("The energy must be a positive whole number of Wh.")
    if energy_wh > MAX_QUOTE_WH:
        raise QuoteInvalid(f"{energy_wh} Wh is more than any single session ({MAX_QUOTE_WH // 1000} kWh at most).")
    if power_w is not None and (isinstance(power_w, bool) or not isinstance(power_w, int) or power_w <= 0):
        raise QuoteInvalid("The power must be a positive whole number of W.")
    start_at = quote_start_utc(start_at_local=start_at_local, time_zone=station.site.time_zone)
    if start_at > datetime.now(ZoneInfo("UTC")) + timedelta(days=366):
        raise QuoteInvalid("Quotes are given for the coming year only.")
    try:
        return tariff_quote(station=station, energy_wh=energy_wh, start_at=start_at, power_w=power_w,
                            user_group=user_group or "public")
    except NoTariff as exc:
        raise TariffMissing(exc.message) from None
