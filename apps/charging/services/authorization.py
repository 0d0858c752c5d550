"""Contract 2: may this idTag charge at this station now? Answered as OCPP 1.6 idTagInfo statuses."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from apps.stations.models import ChargingStation
from apps.stations.selectors import station_access_q
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
    # The same rule as the driver's station search (one card here, all of a person's cards there).
    allowed = station.access_mode == ChargingStation.AccessMode.PUBLIC or ChargingStation.objects.filter(
        station_access_q(organization_ids=[id_tag.organization_id], card_ids=[id_tag.pk], at=at),
        pk=station.pk).exists()
    if not allowed:
        return AuthorizationVerdict(INVALID, reason=f"card not allowed at {station.ocpp_id} "
                                                    f"({station.access_mode})", **common)
    elsewhere = ChargingSession.objects.filter(id_tag=id_tag, state=ChargingSession.State.ACTIVE).exclude(
        station=station).values_list("station__ocpp_id", flat=True).first()
    if elsewhere:
        return AuthorizationVerdict(CONCURRENT_TX, reason=f"card already charging at {elsewhere}", **common)
    return AuthorizationVerdict(ACCEPTED, **common)
