"""Consent history: each purpose granted or refused at sign-up; some grants are withdrawn later.

The e-mail consent in force on the campaign's send day decides who can be e-mailed, so the
randomized campaign respects consent the way storelift's decide path does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..schema import CONSENT_PURPOSES
from .truth import TruthParams

PURPOSES: tuple[str, ...] = ("analytics", "personalization", "email", "sms", "pricing_profiling")
assert set(PURPOSES) == CONSENT_PURPOSES


@dataclass
class ConsentRows:
    """One block's consent rows (customer position, purpose index, granted, day since start)."""

    customer: np.ndarray
    purpose: np.ndarray
    granted: np.ndarray
    day: np.ndarray

    def in_force(self, purpose: str, day: float, n_customers: int) -> np.ndarray:
        """Per customer: is `purpose` granted by the latest row recorded at or before `day`?"""
        k = PURPOSES.index(purpose)
        sel = (self.purpose == k) & (self.day <= day)
        cust, day_sel, granted = self.customer[sel], self.day[sel], self.granted[sel]
        order = np.lexsort((day_sel, cust))
        cust, granted = cust[order], granted[order]
        result = np.zeros(n_customers, dtype=bool)
        last = np.r_[cust[1:] != cust[:-1], True] if len(cust) else np.zeros(0, bool)
        result[cust[last]] = granted[last]
        return result

    def granted_at_signup(self, purpose: str, n_customers: int) -> np.ndarray:
        k = PURPOSES.index(purpose)
        result = np.zeros(n_customers, dtype=bool)
        sel = (self.purpose == k) & self.granted
        result[self.customer[sel]] = True
        return result


def draw_consents(rng: np.random.Generator, created_day: np.ndarray, window_days: float,
                  params: TruthParams) -> ConsentRows:
    """A grant or refusal per purpose at sign-up, then a withdrawal for a share of the grants."""
    n = len(created_day)
    rates = np.array([params.consent_grant_rates[p] for p in PURPOSES])
    granted = rng.random((n, len(PURPOSES))) < rates
    customer = np.repeat(np.arange(n), len(PURPOSES))
    purpose = np.tile(np.arange(len(PURPOSES)), n)
    granted = granted.ravel()
    day = np.repeat(created_day, len(PURPOSES))
    withdraw = granted & (rng.random(len(granted)) < params.consent_withdraw_share)
    w_day = day[withdraw] + rng.random(withdraw.sum()) * (window_days - day[withdraw])
    keep = w_day - day[withdraw] > 1.0 / 24  # a withdrawal needs at least an hour after the grant
    w_idx = np.flatnonzero(withdraw)[keep]
    customer = np.concatenate([customer, customer[w_idx]])
    purpose = np.concatenate([purpose, purpose[w_idx]])
    granted = np.concatenate([granted, np.zeros(len(w_idx), bool)])
    day = np.concatenate([day, w_day[keep]])
    order = np.lexsort((day, purpose, customer))
    return ConsentRows(customer[order], purpose[order], granted[order], day[order])


def consents_table(rows: ConsentRows, customer_ids: pa.Array, to_epoch) -> pa.Table:
    """The canonical consents table for one block."""
    return pa.table({
        "customer_id": customer_ids.take(pa.array(rows.customer)),
        "purpose": pa.array(np.array(PURPOSES, dtype=object)[rows.purpose], pa.string()),
        "granted": pa.array(rows.granted),
        "recorded_at": to_epoch(rows.day),
    })
