"""The pure tariff engine: no Django, no database. `rating.rate` prices one session; `ocpi` reads and writes OCPI
2.2.1 Tariff objects; `calendar` evaluates retailer time-of-use calendars."""
