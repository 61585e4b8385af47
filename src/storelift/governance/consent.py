"""Consent enforced on every audience: a campaign or export reaches only customers whose consent for
the purpose is in force at the moment the audience is drawn (the latest record per customer and
purpose; a withdrawal wins a tie; no record means no consent)."""

from __future__ import annotations

import ibis

from ..audit.coverage import latest_consents
from ..errors import StoreliftError
from ..schema import CONSENT_PURPOSES


class ConsentError(StoreliftError, ValueError):
    """An audience was asked for with an unknown purpose or without a customer id column."""


def consenting_audience(audience: ibis.Table, consents: ibis.Table, purpose: str, as_of=None,
                        customer_col: str = "customer_id") -> ibis.Table:
    """The rows of `audience` whose customer has granted `purpose` in the latest consent record made
    at or before `as_of` (default: every record). Columns: those of `audience`."""
    chosen = _for_purpose(consents, purpose)
    if customer_col not in audience.columns:
        raise ConsentError(f"the audience has no column {customer_col!r}; pass customer_col= its customer id column")
    if as_of is not None:
        chosen = chosen.filter(chosen.recorded_at <= ibis.literal(as_of).cast("timestamp"))
    granted = _granted(chosen)
    granted = granted.select(_consenting=granted.customer_id)
    return audience.semi_join(granted, audience[customer_col] == granted._consenting)


def consenting_ids(consents: ibis.Table, purpose: str, customer_id: str | None = None) -> list[str]:
    """The customers (or only `customer_id`) whose consent in force for `purpose` is a grant, sorted."""
    chosen = _for_purpose(consents, purpose)
    if customer_id is not None:
        chosen = chosen.filter(chosen.customer_id == customer_id)
    return sorted(_granted(chosen).customer_id.execute())


def _for_purpose(consents: ibis.Table, purpose: str) -> ibis.Table:
    if purpose not in CONSENT_PURPOSES:
        raise ConsentError(f"purpose {purpose!r} is not a consent purpose; use one of {', '.join(sorted(CONSENT_PURPOSES))}")
    return consents.filter(consents.purpose == purpose)


def _granted(consents: ibis.Table) -> ibis.Table:
    """The latest record per customer among `consents`, where it is a grant."""
    now = latest_consents(consents)
    return now.filter(now.granted)
