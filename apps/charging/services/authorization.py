"""Contract 2: may this idTag charge at this station now? Answered as OCPP 1.6 idTagInfo statuses."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from apps.stations.models import ChargingStation, StationPermission
from apps.stations.selectors import station_permission_valid_q
from apps.users.models import IdTag, User

from ..models import ChargingSession

ACCEPTED = "Accepted"
BLOCKED = "Blocked"
EXPIRED = "Expired"
INVALID = "Invalid"
CONCURRENT_TX = "ConcurrentTx"


@dataclass(frozen=True)
class AuthorizationVerdict:
    status: str
    id_tag: IdTag | None = None
    user: User | None = None
    expiry_at: datetime | None = None
    parent_id_tag: str | None = None
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED


def _permission_at(*, station: ChargingStation, id_tag: IdTag, at: datetime) -> bool:
    who = Q(id_tag=id_tag)
    if id_tag.owner_id:
        who |= Q(user_id=id_tag.owner_id)
    return StationPermission.objects.filter(who, station_permission_valid_q(at=at), station=station).exists()


def id_tag_authorize(*, station: ChargingStation, uid: str, at: datetime) -> AuthorizationVerdict:
    """The card's verdict at `at`: unknown → Invalid; blocked → Blocked; past expires_at → Expired; not allowed by
    the station's access mode (its organization's cards, a StationPermission, or any card for public stations) →
    Invalid; an active session at another station → ConcurrentTx; else Accepted. A station not yet approved
    (Pending/Rejected) accepts no card."""
    if station.registration_status != ChargingStation.RegistrationStatus.ACCEPTED:
        return AuthorizationVerdict(INVALID, reason=f"station {station.ocpp_id} is not approved "
                                                    f"({station.registration_status})")
    id_tag = IdTag.objects.select_related("owner").filter(uid__iexact=uid.strip()).first()
    if id_tag is None:
        return AuthorizationVerdict(INVALID, reason=f"no card with uid {uid!r}")
    common = {"id_tag": id_tag, "user": id_tag.owner, "expiry_at": id_tag.expires_at,
              "parent_id_tag": id_tag.parent_id_tag or None}
    if id_tag.status == IdTag.Status.BLOCKED:
        return AuthorizationVerdict(BLOCKED, reason="card blocked", **common)
    if id_tag.expires_at is not None and id_tag.expires_at <= at:
        return AuthorizationVerdict(EXPIRED, reason=f"card expired at {id_tag.expires_at.isoformat()}", **common)
    mode = station.access_mode
    if mode == ChargingStation.AccessMode.RESTRICTED:
        allowed = _permission_at(station=station, id_tag=id_tag, at=at)
    elif mode == ChargingStation.AccessMode.ORGANIZATION:
        allowed = (id_tag.organization_id == station.site.organization_id
                   or _permission_at(station=station, id_tag=id_tag, at=at))
    else:
        allowed = True
    if not allowed:
        return AuthorizationVerdict(INVALID, reason=f"card not allowed at {station.ocpp_id} ({mode})", **common)
    elsewhere = ChargingSession.objects.filter(id_tag=id_tag, state=ChargingSession.State.ACTIVE).exclude(
        station=station).values_list("station__ocpp_id", flat=True).first()
    if elsewhere:
        return AuthorizationVerdict(CONCURRENT_TX, reason=f"card already charging at {elsewhere}", **common)
    return AuthorizationVerdict(ACCEPTED, **common)
