"""Provisioning: register stations and RFID cards from scripts (management commands) and from CSV files (admin).

Every entry point is idempotent — registering what already exists updates it and changes nothing else — and goes
through the stations and users services (`station_register`, `station_permission_grant`, `id_tag_register`).
`actor` is the person importing: None for the command line (operator with shell access), otherwise a clerk who
may only touch the organizations they serve (organizations.selectors.organization_ids_served)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, time, timezone as dt_timezone

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_date, parse_datetime

from apps.circuits.models import Circuit
from apps.organizations.models import Membership, Organization
from apps.organizations.selectors import organization_ids_served
from apps.sites.models import Site
from apps.stations.models import ChargingStation, Connector
from apps.stations.services import station_permission_grant, station_register
from apps.users.models import IdTag
from apps.users.services import id_tag_register

from .exceptions import ImportRejected, ProvisioningError, RowError, UnknownReference

MAX_CONNECTORS = 8
MAX_IMPORT_ROWS = 5000


def _served(actor) -> set[int] | None:
    """None: every organization (command line or superuser)."""
    return None if actor is None else organization_ids_served(user=actor)


def _check_served(actor, organization_id: int, what: str, field_name: str) -> None:
    served = _served(actor)
    if served is not None and organization_id not in served:
        raise UnknownReference(f"{what} belongs to an organization you do not serve.", extra={"field": field_name})


# --------------------------------------------------------------------------------------------- look-ups
def site_resolve(*, ref: str, actor=None) -> Site:
    """A site by id or by name (case-insensitive). An ambiguous name is refused: give the id."""
    ref = (ref or "").strip()
    if not ref:
        raise ProvisioningError("A station needs a site (its name or id).")
    sites = Site.objects.all()
    served = _served(actor)
    if served is not None:
        sites = sites.filter(organization_id__in=served)
    if ref.isdigit():
        site = sites.filter(pk=int(ref)).first()
        if site is not None:
            return site
    matches = list(sites.filter(name__iexact=ref)[:2])
    if not matches:
        raise UnknownReference(f"No site named or numbered “{ref}”" + (" among the organizations you serve."
                                                                      if served is not None else "."))
    if len(matches) > 1:
        raise ProvisioningError(f"Several sites are named “{ref}”: give the site id instead.")
    return matches[0]


def circuit_resolve(*, site: Site, name: str) -> Circuit:
    circuit = Circuit.objects.filter(site=site, name__iexact=name.strip()).first()
    if circuit is None:
        raise UnknownReference(f"Site “{site.name}” has no circuit named “{name.strip()}”.")
    return circuit


def organization_resolve(*, slug: str, actor=None) -> Organization:
    slug = (slug or "").strip()
    organization = Organization.objects.filter(slug__iexact=slug).first() if slug else None
    served = _served(actor)
    if organization is None or (served is not None and organization.pk not in served):
        raise UnknownReference(f"No organization “{slug}”" + (" among the organizations you serve."
                                                              if served is not None else "."))
    return organization


def person_resolve(*, username: str, actor=None):
    """A person by username; a clerk may only name people of the organizations they serve."""
    person = get_user_model().objects.filter(username__iexact=username.strip()).first()
    served = _served(actor)
    if person is not None and served is not None and not Membership.objects.filter(
            user=person, organization_id__in=served).exists():
        person = None
    if person is None:
        raise UnknownReference(f"No person with username “{username.strip()}”"
                               + (" in the organizations you serve." if served is not None else "."))
    return person


def station_resolve(*, ocpp_id: str, actor=None) -> ChargingStation:
    station = ChargingStation.objects.select_related("site").filter(ocpp_id__iexact=ocpp_id.strip()).first()
    served = _served(actor)
    if station is None or (served is not None and station.site.organization_id not in served):
        raise UnknownReference(f"No station “{ocpp_id.strip()}”" + (" among the organizations you serve."
                                                                    if served is not None else "."))
    return station


# --------------------------------------------------------------------------------------------- stations
@transaction.atomic
def station_provision(*, ocpp_id: str, site: Site, circuit: Circuit | None = None, password: str | None = None,
                      parking_spot: str | None = None, connectors: int | None = None,
                      max_power_w: int | None = None, current_type: str | None = None,
                      connector_type: str | None = None, actor=None) -> tuple[ChargingStation, bool]:
    """Register a station at `site` (optionally on `circuit`) with connectors 1..`connectors`, or update the station
    with this OCPP identity (case-insensitive). Idempotent; power in W. Connectors beyond `connectors` are kept
    (they may have sessions). A clerk cannot move another organization's station."""
    existing = ChargingStation.objects.select_related("site").filter(ocpp_id__iexact=ocpp_id).first()
    _check_served(actor, site.organization_id, f"Site “{site.name}”", "site")
    if existing is not None:
        _check_served(actor, existing.site.organization_id, f"Station {existing.ocpp_id}", "ocpp_id")
    if connectors is not None and not 1 <= connectors <= MAX_CONNECTORS:
        raise ProvisioningError(f"A station has 1 to {MAX_CONNECTORS} connectors (got {connectors}).",
                                extra={"field": "connectors"})
    if max_power_w is not None and max_power_w <= 0:
        raise ValidationError({"max_power_w": "The power must be a positive number of watts."})
    if current_type is not None and current_type not in ChargingStation.CurrentType.values:
        raise ValidationError({"current_type": f"Unknown current type “{current_type}” (one of "
                                               f"{', '.join(ChargingStation.CurrentType.values)})."})
    if connector_type is not None and connector_type not in Connector.ConnectorType.values:
        raise ValidationError({"connector_type": f"Unknown connector type “{connector_type}” (one of "
                                                 f"{', '.join(Connector.ConnectorType.values)})."})
    effective_type = current_type or (existing.current_type if existing else ChargingStation.CurrentType.AC)
    effective_power = max_power_w or (existing.max_power_w if existing else None)
    specs = None
    if connectors is not None:
        if not effective_power:
            raise ValidationError({"max_power_w": "Give the station's power (W) to create its connectors."})
        default_type = (Connector.ConnectorType.TYPE2 if effective_type == ChargingStation.CurrentType.AC
                        else Connector.ConnectorType.CCS2)
        present = set(existing.connectors.values_list("connector_id", flat=True)) if existing else set()
        specs = []
        for number in range(1, connectors + 1):
            spec = {"connector_id": number}
            if connector_type or number not in present:
                spec["connector_type"] = connector_type or default_type
            if max_power_w or number not in present:
                spec["max_power_w"] = effective_power
            specs.append(spec)
    try:
        with transaction.atomic():
            return station_register(
                ocpp_id=ocpp_id, site=site, circuit=circuit, password=password, parking_spot=parking_spot,
                current_type=current_type, max_power_w=max_power_w, connectors=specs,
            )
    except IntegrityError as exc:
        raise ProvisioningError(f"Station {ocpp_id} conflicts with an existing row: {exc}",
                                extra={"field": "ocpp_id"}) from exc


# --------------------------------------------------------------------------------------------- cards
@transaction.atomic
def card_provision(*, uid: str, organization: Organization, owner=None, label: str = "", user_group: str = "",
                   expires_at: datetime | None = None, stations: list[ChargingStation] = (),
                   actor=None) -> tuple[IdTag, bool, int]:
    """Register an RFID card for `organization` (or update it) and allow it at each of `stations`. Idempotent.
    Returns (card, created, permissions newly granted). A uid owned by another organization is refused."""
    _check_served(actor, organization.pk, f"Organization “{organization.slug}”", "organization")
    for station in stations:
        _check_served(actor, station.site.organization_id, f"Station {station.ocpp_id}", "stations")
    id_tag, created = id_tag_register(uid=uid, organization=organization, owner=owner, label=label,
                                      user_group=user_group, expires_at=expires_at)
    granted = 0
    for station in stations:
        already = station.permissions.filter(id_tag=id_tag).exists()
        station_permission_grant(station=station, id_tag=id_tag)
        granted += 0 if already else 1
    return id_tag, created, granted


# --------------------------------------------------------------------------------------------- CSV import
STATION_COLUMNS = ("ocpp_id", "site", "circuit", "parking_spot", "password", "connectors", "max_power_w",
                   "current_type", "connector_type")
CARD_COLUMNS = ("uid", "organization", "owner", "label", "user_group", "expires_at", "stations")
REQUIRED_COLUMNS = {"stations": ("ocpp_id", "site"), "cards": ("uid", "organization")}
KEY_COLUMN = {"stations": "ocpp_id", "cards": "uid"}
COLUMNS = {"stations": STATION_COLUMNS, "cards": CARD_COLUMNS}
# Model field → CSV column, for validation errors raised by the models.
_FIELD_COLUMN = {"ocpp_id": "ocpp_id", "site": "site", "circuit": "circuit", "parking_spot": "parking_spot",
                 "max_power_w": "max_power_w", "current_type": "current_type", "connector_type": "connector_type",
                 "connector_id": "connectors", "uid": "uid", "owner": "owner", "label": "label",
                 "user_group": "user_group", "expires_at": "expires_at", "organization": "organization"}


@dataclass
class ImportRow:
    line: int
    key: str
    action: str  # "create" or "update"
    summary: str


@dataclass
class ImportReport:
    kind: str
    rows: list[ImportRow] = field(default_factory=list)
    committed: bool = False

    @property
    def created(self) -> int:
        return sum(1 for row in self.rows if row.action == "create")

    @property
    def updated(self) -> int:
        return sum(1 for row in self.rows if row.action == "update")


class _RowProblem(Exception):
    def __init__(self, column: str, message: str):
        self.column, self.message = column, message


def _int_cell(row: dict, column: str) -> int | None:
    raw = (row.get(column) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise _RowProblem(column, f"“{raw}” is not a whole number.") from None


def _datetime_cell(row: dict, column: str) -> datetime | None:
    raw = (row.get(column) or "").strip()
    if not raw:
        return None
    try:
        parsed = parse_datetime(raw)
        if parsed is None and (day := parse_date(raw)) is not None:
            parsed = datetime.combine(day, time.min)
    except ValueError:
        parsed = None
    if parsed is None:
        raise _RowProblem(column, f"“{raw}” is not a date (YYYY-MM-DD) or ISO 8601 date-time.")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt_timezone.utc)


def _read_csv(*, kind: str, text: str) -> list[tuple[int, dict]]:
    """(line number, row) pairs; raises ImportRejected for a bad header or duplicate keys."""
    if kind not in COLUMNS:
        raise ProvisioningError(f"Unknown import kind “{kind}” (stations or cards).")
    text = text.lstrip("\ufeff")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRejected([RowError(1, "-", "The file is empty: the first line must name the columns.")])
    except csv.Error as exc:
        raise ImportRejected([RowError(1, "-", f"Unreadable CSV: {exc}")]) from exc
    header = [column.strip().lower() for column in header]
    errors = [RowError(1, column, f"Unknown column “{column}” (expected {', '.join(COLUMNS[kind])}).")
              for column in header if column not in COLUMNS[kind]]
    errors += [RowError(1, column, f"Missing column “{column}”.")
               for column in REQUIRED_COLUMNS[kind] if column not in header]
    if errors:
        raise ImportRejected(errors)
    rows, seen = [], {}
    key_column = KEY_COLUMN[kind]
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                errors.append(RowError(line, "-", f"{len(cells)} cells, but the header has {len(header)} columns."))
                continue
            row = {column: cell.strip() for column, cell in zip(header, cells)}
            key = row[key_column].upper()
            if key and key in seen:
                errors.append(RowError(line, key_column, f"“{row[key_column]}” is also on line {seen[key]}."))
            seen.setdefault(key, line)
            rows.append((line, row))
            if len(rows) > MAX_IMPORT_ROWS:
                raise ImportRejected([RowError(line, "-", f"More than {MAX_IMPORT_ROWS} rows: split the file.")])
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, "-", f"Unreadable CSV: {exc}"))
    if errors:
        raise ImportRejected(errors)
    if not rows:
        raise ImportRejected([RowError(2, "-", "The file has a header but no rows.")])
    return rows


def _station_row(row: dict, *, actor, commit: bool) -> ImportRow:
    ocpp_id = row.get("ocpp_id", "")
    if not ocpp_id:
        raise _RowProblem("ocpp_id", "A station id is required.")
    try:
        site = site_resolve(ref=row.get("site", ""), actor=actor)
    except ProvisioningError as exc:
        raise _RowProblem("site", exc.message) from exc
    circuit = None
    if row.get("circuit"):
        try:
            circuit = circuit_resolve(site=site, name=row["circuit"])
        except ProvisioningError as exc:
            raise _RowProblem("circuit", exc.message) from exc
    connectors = _int_cell(row, "connectors")
    max_power_w = _int_cell(row, "max_power_w")
    password = row.get("password") or None
    try:
        # The preview does not hash passwords (a deliberately slow hash per row); everything else runs for real.
        station, created = station_provision(
            ocpp_id=ocpp_id, site=site, circuit=circuit, password=password if commit else None,
            parking_spot=row.get("parking_spot") or None, connectors=connectors, max_power_w=max_power_w,
            current_type=(row.get("current_type") or "").upper() or None,
            connector_type=row.get("connector_type") or None, actor=actor,
        )
    except ProvisioningError as exc:
        raise _RowProblem(exc.extra.get("field", "ocpp_id"), exc.message) from exc
    parts = [f"site {site.name}"]
    if circuit:
        parts.append(f"circuit {circuit.name}")
    if row.get("parking_spot"):
        parts.append(row["parking_spot"])
    if connectors:
        parts.append(f"{connectors} connector(s)")
    if station.max_power_w:
        parts.append(f"{station.max_power_w} W")
    if password:
        parts.append("password set")
    return ImportRow(line=0, key=station.ocpp_id, action="create" if created else "update", summary=", ".join(parts))


def _card_row(row: dict, *, actor, commit: bool) -> ImportRow:
    uid = row.get("uid", "")
    if not uid:
        raise _RowProblem("uid", "A card uid is required.")
    try:
        organization = organization_resolve(slug=row.get("organization", ""), actor=actor)
    except ProvisioningError as exc:
        raise _RowProblem("organization", exc.message) from exc
    owner = None
    if row.get("owner"):
        try:
            owner = person_resolve(username=row["owner"], actor=actor)
        except ProvisioningError as exc:
            raise _RowProblem("owner", exc.message) from exc
    stations = []
    for ocpp_id in (row.get("stations") or "").replace(";", " ").replace("|", " ").split():
        try:
            stations.append(station_resolve(ocpp_id=ocpp_id, actor=actor))
        except ProvisioningError as exc:
            raise _RowProblem("stations", exc.message) from exc
    expires_at = _datetime_cell(row, "expires_at")
    try:
        id_tag, created, granted = card_provision(
            uid=uid, organization=organization, owner=owner, label=row.get("label", ""),
            user_group=row.get("user_group", ""), expires_at=expires_at, stations=stations, actor=actor,
        )
    except ProvisioningError as exc:
        raise _RowProblem(exc.extra.get("field", "uid"), exc.message) from exc
    parts = [f"organization {organization.slug}"]
    if owner:
        parts.append(f"owner {owner.username}")
    if stations:
        parts.append("allowed at " + ", ".join(s.ocpp_id for s in stations))
    return ImportRow(line=0, key=id_tag.uid, action="create" if created else "update", summary=", ".join(parts))


def csv_import_run(*, kind: str, text: str, actor=None, commit: bool) -> ImportReport:
    """Import stations or cards from CSV text in ONE transaction. With commit=False (the preview) every row is
    applied and then rolled back, so the report says exactly what the import will create and update. Any bad row
    raises ImportRejected with every problem found (line number, column, message) and nothing is saved."""
    rows = _read_csv(kind=kind, text=text)
    handler = _station_row if kind == "stations" else _card_row
    report = ImportReport(kind=kind)
    errors: list[RowError] = []
    with transaction.atomic():
        for line, row in rows:
            try:
                with transaction.atomic():  # a savepoint per row: later rows are still checked after a failure
                    result = handler(row, actor=actor, commit=commit)
            except _RowProblem as problem:
                errors.append(RowError(line, problem.column, problem.message))
                continue
            except ValidationError as exc:
                errors += _validation_errors(line, exc, default_column=KEY_COLUMN[kind])
                continue
            except IntegrityError as exc:
                errors.append(RowError(line, KEY_COLUMN[kind], f"Conflicts with an existing row: {exc}"))
                continue
            result.line = line
            report.rows.append(result)
        if errors or not commit:
            transaction.set_rollback(True)
    if errors:
        raise ImportRejected(errors)
    report.committed = commit
    return report


def _validation_errors(line: int, exc: ValidationError, *, default_column: str) -> list[RowError]:
    if hasattr(exc, "error_dict"):
        return [RowError(line, _FIELD_COLUMN.get(name, default_column), " ".join(messages))
                for name, messages in exc.message_dict.items()]
    return [RowError(line, default_column, " ".join(exc.messages))]
