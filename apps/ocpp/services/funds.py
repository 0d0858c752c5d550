"""Contract 2's prepaid funds check, owned by billing (a higher app than charging, a lower one than ocpp)."""
from __future__ import annotations


def prepaid_funds_problem(*, id_tag, user, station) -> str | None:
    """None when the card may charge as far as money goes, else the reason to answer Blocked.
    Until billing has committed `apps.billing.selectors.prepaid_funds_problem`, there is nothing to check: only a
    missing module or function (ImportError / AttributeError) skips the check; any other error propagates."""
    try:
        from apps.billing import selectors as billing_selectors

        check = billing_selectors.prepaid_funds_problem
    except (ImportError, AttributeError):
        return None
    return check(id_tag=id_tag, user=user, station=station)
